{#- One row per site, UTC clock hour and local date. Incremental by UTC reading
    date (macros/incremental_by.sql). -#}
{{ config(**wattlake.incremental_by(
    'reading_date', sort=['reading_date', 'site_id'], dist='site_id'
)) }}

with

hourly as (
    select * from {{ ref('int_readings_rolled_up_to_hour') }}
),

sites as (
    select * from {{ ref('dim_sites') }}
),

site_types as (
    select * from {{ ref('site_types') }}
),

restated as (
    select hourly.*
    from hourly
    -- the meter hours are the stored upstream: their stamps say what changed
    where {{ wattlake.restated_rows(
        ref('int_readings_rolled_up_to_meter_hour'), 'reading_date', alias='hourly'
    ) }}
),

calendar as (
    select
        restated.*,
        {{ wattlake.iso_weekday('restated.reading_date_local') }} as iso_weekday_local,
        {{ wattlake.hour_of_day('restated.hour_start_local') }} as hour_of_day_local
    from restated
),

final as (
    select
        calendar.site_id,
        sites.area_id,
        sites.site_type,
        calendar.hour_start_utc,
        calendar.hour_start_local,
        calendar.reading_date_local,
        cast({{ dbt.date_trunc('month', 'calendar.reading_date_local') }} as date)
            as reading_month_local,
        calendar.iso_weekday_local,
        calendar.hour_of_day_local,
        calendar.energy_kwh,
        calendar.avg_demand_kw,
        calendar.minutes_reported,
        calendar.interval_count,
        calendar.meter_count,
        -- outside the site type's opening hours (null for types that have none)
        case
            when site_types.opens_at_hour is null then null
            when
                calendar.iso_weekday_local > 5 and not site_types.opens_on_weekends
                then true
            when calendar.hour_of_day_local < site_types.opens_at_hour then true
            when calendar.hour_of_day_local >= site_types.closes_at_hour then true
            else false
        end as is_after_hours,
        {{ wattlake.run_timestamp() }} as restated_at_utc,
        -- the partition column goes last (Athena requires it)
        calendar.reading_date
    from calendar
    inner join sites
        on calendar.site_id = sites.site_id
    left join site_types
        on sites.site_type = site_types.site_type
)

select * from final
