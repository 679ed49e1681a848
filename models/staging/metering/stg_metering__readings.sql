with

source as (
    select * from {{ source('metering', 'readings') }}
),

renamed as (
    select
        ---------- ids
        nullif({{ wattlake.trimmed('meter_id') }}, '') as meter_id,
        batch_id,

        ---------- timestamps
        {{ wattlake.parse_timestamp_utc('reading_start') }} as reading_start_utc,
        {{ wattlake.has_utc_offset('reading_start') }} as reading_start_has_offset,
        {{ wattlake.utc_timestamp('received_at') }} as received_at_utc,

        ---------- measures
        {{ wattlake.cast_delivered('interval_minutes', dbt.type_int()) }}
            as interval_minutes,
        {{ to_kwh('value', 'unit', 'interval_minutes') }} as energy_kwh,
        reading_start as reading_start_as_delivered,
        value as value_as_delivered,
        unit as unit_as_delivered,

        ---------- quality and lineage
        quality_code,
        parse_error,
        raw_line,
        source_file,
        source_line,
        ingest_date
    from source
)

select * from renamed
