-- Fails with every calendar year of dim_date that has no public holiday in the
-- public_holidays seed: the calendar was extended (wattlake_calendar_start/end)
-- without regenerating the seed (python -m wattlake.seeds).
with

calendar_years as (
    select distinct dim_date.calendar_year
    from {{ ref('dim_date') }} as dim_date
),

holiday_years as (
    select distinct
        cast(extract(year from public_holidays.holiday_date) as {{ dbt.type_int() }})
            as calendar_year
    from {{ ref('public_holidays') }} as public_holidays
)

select calendar_years.calendar_year
from calendar_years
left join holiday_years
    on calendar_years.calendar_year = holiday_years.calendar_year
where holiday_years.calendar_year is null
