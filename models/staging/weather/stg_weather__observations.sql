with

source as (
    -- an empty relation when no weather has been landed yet (see the macro)
    select * from {{ wattlake.delivered_source('weather', 'weather') }}
),

renamed as (
    -- qualified: the typed air_temperature_c keeps its delivered name
    select
        ---------- ids
        nullif(trim(source.area_id), '') as area_id,
        source.batch_id,

        ---------- timestamps
        {{ wattlake.parse_timestamp_utc('source.observed_at') }} as observed_at_utc,
        cast(source.received_at as {{ dbt.type_timestamp() }}) as received_at_utc,

        ---------- measures
        {%- set double = wattlake.type_double() %}
        {{ wattlake.cast_delivered('source.air_temperature_c', double) }}
            as air_temperature_c,
        {{ wattlake.cast_delivered('source.relative_humidity_pct', double) }}
            as relative_humidity_pct,
        {{ wattlake.cast_delivered('source.wind_speed_m_s', double) }}
            as wind_speed_m_s,
        source.observed_at as observed_at_as_delivered,
        source.air_temperature_c as air_temperature_as_delivered,

        ---------- lineage
        source.parse_error,
        source.raw_line,
        source.source_file,
        cast(source.source_line as {{ dbt.type_bigint() }}) as source_line
    from source
)

select * from renamed
