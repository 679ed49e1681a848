{#- Clean readings: typed, usable, one per meter and interval, by UTC reading
    date. Among usable copies of a reading the latest received wins, then the
    higher batch id, then the later line: a corrected re-delivery replaces the
    reading it corrects, and the result does not depend on landing order.

    Incremental by UTC reading date (macros/incremental_by.sql): a run restates
    every reading date that holds a reading int_readings_validated wrote since
    this model's last run, so late data restates exactly its dates and reruns
    are idempotent. The post-hook publishes the dates this run wrote to
    <lake>/clean/readings/ (on Athena the table is located there already). -#}
{{ config(
    post_hook="{{ wattlake.publish_clean_readings() }}",
    **wattlake.incremental_by('reading_date', sort=['reading_date', 'meter_id'], dist='meter_id')
) }}

with

validated as (
    select * from {{ ref('int_readings_validated') }}
),

usable as (
    select
        validated.meter_id,
        validated.reading_start_utc,
        validated.interval_minutes,
        validated.energy_kwh,
        validated.quality_code,
        validated.quality_flag,
        validated.is_estimated,
        validated.is_late,
        validated.batch_id,
        validated.source_line,
        validated.received_at_utc,
        validated.reading_date
    from validated
    where
        validated.quarantine_reason is null
        and {{ wattlake.restated_rows(
            ref('int_readings_validated'), 'reading_date', alias='validated'
        ) }}
),

ranked as (
    select
        usable.*,
        row_number() over (
            partition by usable.meter_id, usable.reading_start_utc
            order by
                usable.received_at_utc desc,
                usable.batch_id desc,
                usable.source_line desc
        ) as copy_rank
    from usable
),

final as (
    select
        ranked.meter_id,
        ranked.reading_start_utc,
        ranked.interval_minutes,
        ranked.energy_kwh,
        ranked.energy_kwh * 60.0 / ranked.interval_minutes as avg_demand_kw,
        ranked.quality_code,
        ranked.quality_flag,
        ranked.is_estimated,
        ranked.is_late,
        ranked.batch_id,
        ranked.source_line,
        ranked.received_at_utc,
        {{ wattlake.run_timestamp() }} as restated_at_utc,
        -- the partition column goes last (Athena requires it)
        ranked.reading_date
    from ranked
    where ranked.copy_rank = 1
)

select * from final
