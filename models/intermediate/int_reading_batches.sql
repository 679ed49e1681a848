{#- What each landed batch holds, per UTC reading date: rows landed, and
    those quarantined for what the registry said. The ledger the clean readings
    restate by: int_readings_validated is a view (a city year is 350 million
    rows, too many to store twice), and this small table remembers which
    batches earlier runs have seen.

    Incremental by ingest date (the raw partition): a run reads the ingest
    dates that hold a batch not in the ledger yet, and those holding readings
    quarantined for what the registry said (unknown meter, site or time zone, a
    negative or implausible value), because a later registry delivery may know
    better. A batch gets this run's stamp (restated_at_utc) only when its
    readings may have changed: a new batch, or one with such readings; the
    other batches of a re-read date keep theirs, so a late batch restates only
    its own reading dates downstream. -#}
{{ config(**wattlake.incremental_by(
    'ingest_date', sort=['ingest_date'], dist='even'
)) }}
-- the incremental branch lists the landed batches:
-- depends_on: {{ ref('stg_metering__readings') }}

{%- set registry_reasons = "('" ~ [
    'unknown_meter', 'unknown_site', 'unknown_time_zone', 'negative_energy', 'out_of_range'
] | join("', '") ~ "')" %}

with

validated as (
    select * from {{ ref('int_readings_validated') }}
),

-- the layout checker indents a Jinja block's CTEs differently in each branch
-- noqa: disable=LT02
{% if is_incremental() %}
-- batches earlier runs have seen, with their stamp
known_batches as (
    select
        known.batch_id,
        max(known.restated_at_utc) as restated_at_utc,
        max(case when known.registry_quarantined_rows > 0 then 1 else 0 end)
            as has_registry_quarantine
    from {{ this }} as known
    group by known.batch_id
),

landed_batches as (
    select distinct
        landed.batch_id,
        landed.ingest_date
    from {{ ref('stg_metering__readings') }} as landed
),

-- the ingest dates this run reads
pending_ingest_dates as (
    select landed_batches.ingest_date
    from landed_batches
    left join known_batches
        on landed_batches.batch_id = known_batches.batch_id
    where known_batches.batch_id is null
    union
    select known.ingest_date
    from {{ this }} as known
    where known.registry_quarantined_rows > 0
),
{% endif %}

counted as (
    select
        validated.batch_id,
        validated.reading_date,
        cast(count(*) as {{ dbt.type_bigint() }}) as landed_rows,
        cast(
            sum(
                case
                    when validated.quarantine_reason in {{ registry_reasons }} then 1
                    else 0
                end
            )
            as {{ dbt.type_bigint() }}
        ) as registry_quarantined_rows,
        validated.ingest_date
    from validated
    {% if is_incremental() %}
        where validated.ingest_date in (
            select pending_ingest_dates.ingest_date from pending_ingest_dates
        )
    {% endif %}
    group by validated.batch_id, validated.reading_date, validated.ingest_date
),
-- noqa: enable=LT02

final as (
    select
        counted.batch_id,
        counted.reading_date,
        counted.landed_rows,
        counted.registry_quarantined_rows,
        {% if is_incremental() -%}
            case
                when known_batches.has_registry_quarantine = 0
                    then known_batches.restated_at_utc
                else {{ wattlake.run_timestamp() }}
            end
        {%- else -%}
            {{ wattlake.run_timestamp() }}
        {%- endif %} as restated_at_utc,
        -- the partition column goes last (Athena requires it)
        counted.ingest_date
    from counted
    {% if is_incremental() -%}
        left join known_batches
            on counted.batch_id = known_batches.batch_id
    {%- endif %}
)

select * from final
