{#- Weather per area and UTC clock hour: the mean of the hour's observations
    (hourly from the simulator, every 10 minutes from some real exports), each
    observation counted once (the latest delivered copy wins). Published to
    the lake at clean/weather_hourly/ for the Spark job's temperature response;
    fct_area_hourly_weather adds the local time. -#}
{{ config(**wattlake.table_in_lake('clean/weather_hourly')) }}

with

observations as (
    select * from {{ ref('stg_weather__observations') }}
),

usable_observations as (
    -- rows whose area, time or temperature did not parse are listed by the
    -- staging model's warn tests, not used here
    select
        observations.area_id,
        observations.observed_at_utc,
        observations.air_temperature_c,
        observations.relative_humidity_pct,
        observations.wind_speed_m_s,
        row_number() over (
            partition by observations.area_id, observations.observed_at_utc
            order by
                observations.received_at_utc desc,
                observations.batch_id desc,
                observations.source_line desc
        ) as copy_rank
    from observations
    where
        observations.area_id is not null
        and observations.observed_at_utc is not null
        and observations.air_temperature_c is not null
),

latest_observations as (
    -- an observation delivered again (a re-sent or corrected batch): the
    -- latest received copy wins
    select
        usable_observations.area_id,
        {{ dbt.date_trunc('hour', 'usable_observations.observed_at_utc') }}
            as hour_start_utc,
        usable_observations.air_temperature_c,
        usable_observations.relative_humidity_pct,
        usable_observations.wind_speed_m_s
    from usable_observations
    where usable_observations.copy_rank = 1
),

hourly as (
    select
        latest_observations.area_id,
        latest_observations.hour_start_utc,
        avg(latest_observations.air_temperature_c) as air_temperature_c,
        min(latest_observations.air_temperature_c) as min_air_temperature_c,
        max(latest_observations.air_temperature_c) as max_air_temperature_c,
        avg(latest_observations.relative_humidity_pct) as relative_humidity_pct,
        avg(latest_observations.wind_speed_m_s) as wind_speed_m_s,
        count(*) as observation_count
    from latest_observations
    group by latest_observations.area_id, latest_observations.hour_start_utc
),

final as (
    select
        hourly.area_id,
        cast(hourly.hour_start_utc as {{ dbt.type_timestamp() }}) as hour_start_utc,
        hourly.air_temperature_c,
        hourly.min_air_temperature_c,
        hourly.max_air_temperature_c,
        hourly.relative_humidity_pct,
        hourly.wind_speed_m_s,
        cast(hourly.observation_count as {{ dbt.type_int() }}) as observation_count
    from hourly
)

select * from final
