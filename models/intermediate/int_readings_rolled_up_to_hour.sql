-- The meter hours of each site added up: one row per site, UTC clock hour and
-- local date. The site's meters draw at the same time, so their average
-- demands add up (demand is never summed over time).
with

meter_hours as (
    select * from {{ ref('int_readings_rolled_up_to_meter_hour') }}
),

-- the area and the local hour follow from the site and the UTC hour: max()
-- carries them, and fewer grouping columns make the grouping cheaper
final as (
    select
        meter_hours.site_id,
        max(meter_hours.area_id) as area_id,
        meter_hours.hour_start_utc,
        max(meter_hours.hour_start_local) as hour_start_local,
        meter_hours.reading_date_local,
        sum(meter_hours.energy_kwh) as energy_kwh,
        -- each meter's average demand over the minutes it reported in the hour
        sum(meter_hours.energy_kwh * 60.0 / nullif(meter_hours.minutes_reported, 0))
            as avg_demand_kw,
        cast(sum(meter_hours.interval_count) as {{ dbt.type_int() }}) as interval_count,
        cast(sum(meter_hours.minutes_reported) as {{ dbt.type_int() }})
            as minutes_reported,
        cast(count(*) as {{ dbt.type_int() }}) as meter_count,
        max(meter_hours.restated_at_utc) as restated_at_utc,
        meter_hours.reading_date
    from meter_hours
    group by
        meter_hours.site_id,
        meter_hours.hour_start_utc,
        meter_hours.reading_date_local,
        meter_hours.reading_date
)

select * from final
