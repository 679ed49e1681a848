-- Clean readings rolled up to site and clock hour (UTC), tagged with the site's
-- local date and the local wall-clock time the hour starts at. A UTC hour that
-- straddles local midnight (half-hour time zones) is split between its two
-- local dates.
with

cleaned as (
    select * from {{ ref('int_readings_cleaned') }}
),

meters as (
    select * from {{ ref('int_meters_deduplicated') }}
),

sites as (
    select * from {{ ref('int_sites_deduplicated') }}
),

located as (
    select
        meters.site_id,
        sites.area_id,
        sites.time_zone,
        cleaned.meter_id,
        cleaned.interval_minutes,
        cleaned.energy_kwh,
        {{ dbt.date_trunc('hour', 'cleaned.reading_start_utc') }} as hour_start_utc,
        {{ wattlake.local_date('cleaned.reading_start_utc', 'sites.time_zone') }}
            as reading_date_local
    from cleaned
    inner join meters
        on cleaned.meter_id = meters.meter_id
    inner join sites
        on meters.site_id = sites.site_id
),

meter_hours as (
    select
        located.site_id,
        located.area_id,
        located.time_zone,
        located.meter_id,
        located.hour_start_utc,
        located.reading_date_local,
        sum(located.energy_kwh) as energy_kwh,
        count(*) as interval_count,
        -- average demand over the minutes the meter reported in this hour
        sum(located.energy_kwh) * 60.0 / nullif(sum(located.interval_minutes), 0)
            as avg_demand_kw
    from located
    group by
        located.site_id,
        located.area_id,
        located.time_zone,
        located.meter_id,
        located.hour_start_utc,
        located.reading_date_local
),

final as (
    select
        meter_hours.site_id,
        meter_hours.area_id,
        meter_hours.hour_start_utc,
        {{ wattlake.local_timestamp('meter_hours.hour_start_utc', 'meter_hours.time_zone') }}
            as hour_start_local,
        meter_hours.reading_date_local,
        sum(meter_hours.energy_kwh) as energy_kwh,
        -- the site's meters draw at the same time: their demands add up
        sum(meter_hours.avg_demand_kw) as avg_demand_kw,
        cast(sum(meter_hours.interval_count) as {{ dbt.type_int() }}) as interval_count,
        cast(count(*) as {{ dbt.type_int() }}) as meter_count
    from meter_hours
    group by
        meter_hours.site_id,
        meter_hours.area_id,
        meter_hours.time_zone,
        meter_hours.hour_start_utc,
        meter_hours.reading_date_local
)

select * from final
