-- One row per landed batch and quarantine reason: how many readings of the
-- batch could not be used, and why. The data-quality dashboard page and the
-- Tableau workbook read it; row-level detail stays in int_readings_quarantined.
with

quarantined as (
    select * from {{ ref('int_readings_quarantined') }}
),

batch_reasons as (
    select
        quarantined.batch_id,
        quarantined.quarantine_reason,
        min(quarantined.source_file) as source_file,
        count(*) as quarantined_row_count,
        count(distinct quarantined.meter_id) as meter_count,
        min(quarantined.reading_date) as first_reading_date,
        max(quarantined.reading_date) as last_reading_date
    from quarantined
    group by quarantined.batch_id, quarantined.quarantine_reason
),

final as (
    select
        batch_reasons.batch_id,
        batch_reasons.quarantine_reason,
        batch_reasons.source_file,
        batch_reasons.quarantined_row_count,
        batch_reasons.meter_count,
        batch_reasons.first_reading_date,
        batch_reasons.last_reading_date
    from batch_reasons
)

select * from final
