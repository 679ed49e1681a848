{#- Base temperatures, in degrees Celsius (see the model's description for why). -#}
{%- set heating_base_c = var('wattlake_heating_base_c', 15.5) -%}
{%- set cooling_base_c = var('wattlake_cooling_base_c', 22.0) -%}

with

hourly_weather as (
    select * from {{ ref('fct_area_hourly_weather') }}
),

areas as (
    select * from {{ ref('dim_areas') }}
),

hourly_degrees as (
    select
        hourly_weather.area_id,
        hourly_weather.reading_date_local,
        hourly_weather.air_temperature_c,
        greatest({{ heating_base_c }} - hourly_weather.air_temperature_c, 0)
            as heating_degrees_c,
        greatest(hourly_weather.air_temperature_c - {{ cooling_base_c }}, 0)
            as cooling_degrees_c
    from hourly_weather
),

daily as (
    select
        hourly_degrees.area_id,
        hourly_degrees.reading_date_local,
        avg(hourly_degrees.air_temperature_c) as avg_air_temperature_c,
        min(hourly_degrees.air_temperature_c) as min_air_temperature_c,
        max(hourly_degrees.air_temperature_c) as max_air_temperature_c,
        sum(hourly_degrees.heating_degrees_c) as heating_degree_hours,
        sum(hourly_degrees.cooling_degrees_c) as cooling_degree_hours,
        count(*) as hour_count
    from hourly_degrees
    group by hourly_degrees.area_id, hourly_degrees.reading_date_local
),

days_with_length as (
    -- the local day's length: 24 hours, 23 or 25 on DST change days
    select
        daily.area_id,
        daily.reading_date_local,
        daily.avg_air_temperature_c,
        daily.min_air_temperature_c,
        daily.max_air_temperature_c,
        daily.heating_degree_hours,
        daily.cooling_degree_hours,
        daily.hour_count,
        {{ dbt.datediff(
            wattlake.local_to_utc(
                'cast(daily.reading_date_local as ' ~ dbt.type_timestamp() ~ ')',
                'areas.time_zone',
            ),
            wattlake.local_to_utc(
                dbt.dateadd(
                    'day', 1, 'cast(daily.reading_date_local as ' ~ dbt.type_timestamp() ~ ')'
                ),
                'areas.time_zone',
            ),
            'hour',
        ) }} as hours_in_day
    from daily
    inner join areas
        on daily.area_id = areas.area_id
),

final as (
    select
        days_with_length.area_id,
        days_with_length.reading_date_local,
        days_with_length.avg_air_temperature_c,
        days_with_length.min_air_temperature_c,
        days_with_length.max_air_temperature_c,
        -- degree-hours / 24; a day missing hours is scaled up from the hours it has
        days_with_length.heating_degree_hours * days_with_length.hours_in_day
        / (days_with_length.hour_count * 24.0) as heating_degree_days,
        days_with_length.cooling_degree_hours * days_with_length.hours_in_day
        / (days_with_length.hour_count * 24.0) as cooling_degree_days,
        cast(days_with_length.hour_count as {{ dbt.type_int() }}) as hour_count,
        cast(days_with_length.hours_in_day as {{ dbt.type_int() }})
            as hours_in_day,
        days_with_length.hour_count
        = days_with_length.hours_in_day as is_complete_day,
        cast({{ heating_base_c }} as {{ wattlake.type_double() }}) as heating_base_c,
        cast({{ cooling_base_c }} as {{ wattlake.type_double() }}) as cooling_base_c
    from days_with_length
)

select * from final
