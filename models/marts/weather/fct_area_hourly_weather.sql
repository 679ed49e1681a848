-- Weather per area and UTC clock hour (int_weather_hourly), with the area's
-- local wall-clock hour and local date.
with

hourly as (
    select * from {{ ref('int_weather_hourly') }}
),

areas as (
    select * from {{ ref('dim_areas') }}
),

final as (
    select
        hourly.area_id,
        hourly.hour_start_utc,
        cast(
            {{ wattlake.local_timestamp('hourly.hour_start_utc', 'areas.time_zone') }}
            as {{ dbt.type_timestamp() }}
        ) as hour_start_local,
        {{ wattlake.local_date('hourly.hour_start_utc', 'areas.time_zone') }}
            as reading_date_local,
        hourly.air_temperature_c,
        hourly.min_air_temperature_c,
        hourly.max_air_temperature_c,
        hourly.relative_humidity_pct,
        hourly.wind_speed_m_s,
        hourly.observation_count
    from hourly
    -- weather of an area no site is in has no time zone: the staging model's
    -- relationships test lists it
    inner join areas
        on hourly.area_id = areas.area_id
)

select * from final
