{#- Clean readings: typed, usable, one per meter and interval, by UTC reading
    date. Incremental with one meaning on every engine: replace every reading
    date touched by a batch not seen before, so late data restates its dates and
    reruns are idempotent. The post-hook publishes the dates this run wrote to
    <lake>/clean/readings/ (on Athena the table is located there already). -#}
{%- set engine_config = {
    'athena': {
        'incremental_strategy': 'insert_overwrite',
        'partitioned_by': ['reading_date'],
        'external_location': wattlake.lake_uri('clean/readings'),
    },
    'redshift': {
        'incremental_strategy': 'delete+insert',
        'unique_key': ['reading_date'],
        'sort': ['reading_date', 'meter_id'],
        'dist': 'meter_id',
    },
}.get(target.type, {
    'incremental_strategy': 'delete+insert',
    'unique_key': ['reading_date'],
}) -%}
{{ config(
    materialized='incremental',
    on_schema_change='fail',
    post_hook="{{ wattlake.publish_clean_readings() }}",
    **engine_config
) }}

with

validated as (
    select * from {{ ref('int_readings_validated') }}
),

final as (
    select
        validated.meter_id,
        validated.reading_start_utc,
        validated.interval_minutes,
        validated.energy_kwh,
        validated.energy_kwh * 60.0 / validated.interval_minutes as avg_demand_kw,
        validated.quality_code,
        validated.batch_id,
        validated.source_line,
        validated.received_at_utc,
        '{{ invocation_id }}' as dbt_invocation_id,
        -- the partition column goes last (Athena requires it)
        validated.reading_date
    from validated
    where
        validated.quarantine_reason is null
        and validated.duplicate_rank = 1
        -- sqlfluff indents a Jinja block differently in each branch
        -- noqa: disable=LT02
        {% if is_incremental() %}
            -- every date touched by a batch this model has not cleaned yet
            and validated.reading_date in (
                select new_rows.reading_date
                from validated as new_rows
                where
                    new_rows.batch_id not in (
                        select cleaned.batch_id from {{ this }} as cleaned
                    )
            )
        {% endif %}
)
-- noqa: enable=LT02

select * from final
