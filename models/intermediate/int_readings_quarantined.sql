-- Every landed reading that cannot be used, with the reason and everything
-- needed to find it in its delivery (batch, file, line, the text as delivered).
{{ config(materialized='table') }}

with

validated as (
    select * from {{ ref('int_readings_validated') }}
),

final as (
    select
        validated.batch_id,
        validated.source_line,
        validated.source_file,
        validated.quarantine_reason,
        validated.quality_flag,
        validated.meter_id,
        validated.reading_start_utc,
        validated.reading_date,
        validated.reading_start_as_delivered,
        validated.value_as_delivered,
        validated.unit_as_delivered,
        validated.raw_line,
        validated.parse_error,
        validated.received_at_utc,
        validated.ingest_date
    from validated
    where validated.quarantine_reason is not null
)

select * from final
