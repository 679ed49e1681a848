{#- The calendar's range: whole years around any data Wattlake holds (real
    exports from 2013, simulations from 2025). Vars, so a unit test can take a
    few days; `python -m wattlake.seeds` writes the public holidays of the same
    years, and assert_public_holidays_cover_dim_date checks they do. -#}
{%- set first_day = var('wattlake_calendar_start', '2010-01-01') | string -%}
{%- set last_day = var('wattlake_calendar_end', '2035-12-31') | string -%}
{%- set day_count = (
    modules.datetime.date.fromisoformat(last_day)
    - modules.datetime.date.fromisoformat(first_day)
).days + 1 -%}
{%- set first_date = "cast('" ~ first_day ~ "' as date)" -%}

with

public_holidays as (
    select * from {{ ref('public_holidays') }}
),

day_numbers as (
    -- 1 .. day_count, from cross-joined powers of two (no generate_series on Redshift)
    {{ dbt.generate_series(day_count) }}
),

days as (
    select
        cast(
            {{ dbt.dateadd(
                'day',
                'cast(day_numbers.generated_number as ' ~ dbt.type_int() ~ ') - 1',
                first_date,
            ) }}
            as date
        ) as date_day
    from day_numbers
),

weekdays as (
    select
        days.date_day,
        cast({{ wattlake.iso_weekday('days.date_day') }} as {{ dbt.type_int() }})
            as iso_weekday
    from days
),

iso_days as (
    -- an ISO week belongs to the year of its Thursday, and is numbered from it
    select
        weekdays.date_day,
        weekdays.iso_weekday,
        cast(
            {{ dbt.dateadd(
                'day', '4 - weekdays.iso_weekday', 'weekdays.date_day'
            ) }} as date
        ) as iso_thursday
    from weekdays
),

calendar as (
    select
        iso_days.date_day,
        iso_days.iso_weekday,
        cast(extract(year from iso_days.date_day) as {{ dbt.type_int() }})
            as calendar_year,
        cast(extract(month from iso_days.date_day) as {{ dbt.type_int() }})
            as month_of_year,
        cast(extract(day from iso_days.date_day) as {{ dbt.type_int() }})
            as day_of_month,
        cast(
            {{ dbt.datediff(
                'cast(' ~ dbt.date_trunc('year', 'iso_days.date_day') ~ ' as date)',
                'iso_days.date_day',
                'day',
            ) }} + 1
            as {{ dbt.type_int() }}
        ) as day_of_year,
        cast(
            {{ dbt.date_trunc('month', 'iso_days.date_day') }} as date
        ) as month_start_date,
        cast(extract(year from iso_days.iso_thursday) as {{ dbt.type_int() }})
            as iso_year,
        cast(
            floor(
                {{ dbt.datediff(
                    'cast(' ~ dbt.date_trunc('year', 'iso_days.iso_thursday') ~ ' as date)',
                    'iso_days.iso_thursday',
                    'day',
                ) }} / 7.0
            ) + 1
            as {{ dbt.type_int() }}
        ) as iso_week_of_year
    from iso_days
),

final as (
    select
        calendar.date_day,
        calendar.calendar_year,
        cast(floor((calendar.month_of_year - 1) / 3.0) + 1 as {{ dbt.type_int() }})
            as quarter_of_year,
        calendar.month_of_year,
        case calendar.month_of_year
            when 1 then 'January'
            when 2 then 'February'
            when 3 then 'March'
            when 4 then 'April'
            when 5 then 'May'
            when 6 then 'June'
            when 7 then 'July'
            when 8 then 'August'
            when 9 then 'September'
            when 10 then 'October'
            when 11 then 'November'
            when 12 then 'December'
        end as month_name,
        calendar.month_start_date,
        calendar.day_of_month,
        calendar.day_of_year,
        calendar.iso_weekday,
        case calendar.iso_weekday
            when 1 then 'Monday'
            when 2 then 'Tuesday'
            when 3 then 'Wednesday'
            when 4 then 'Thursday'
            when 5 then 'Friday'
            when 6 then 'Saturday'
            when 7 then 'Sunday'
        end as weekday_name,
        calendar.iso_year,
        calendar.iso_week_of_year,
        calendar.iso_weekday in (6, 7) as is_weekend,
        public_holidays.holiday_date is not null as is_public_holiday,
        public_holidays.holiday_name as public_holiday_name,
        calendar.iso_weekday < 6
        and public_holidays.holiday_date is null as is_working_day,
        -- meteorological seasons of the northern hemisphere (whole months)
        case
            when calendar.month_of_year in (12, 1, 2) then 'winter'
            when calendar.month_of_year in (3, 4, 5) then 'spring'
            when calendar.month_of_year in (6, 7, 8) then 'summer'
            else 'autumn'
        end as meteorological_season
    from calendar
    left join public_holidays
        on calendar.date_day = public_holidays.holiday_date
)

select * from final
