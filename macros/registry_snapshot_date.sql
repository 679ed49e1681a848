{#- The date a registry snapshot describes: the registry is delivered as a full
    snapshot on every day it changes, and its batch id carries that day
    (`sites_20250328`, `meters_20250328`: `<table>_<YYYYMMDD>...`). A batch id
    without such a date falls back to the UTC date the batch was landed.

    Not `received_at` first: a historical replay (the simulator, an import of an
    old registry) lands every snapshot in one run, so they share one landing
    time and only the batch id tells them apart. Portable SQL (split_part,
    substring and try_cast exist on DuckDB, Athena and Redshift). -#}
{% macro registry_snapshot_date(batch_id, received_at_utc) -%}
    {%- set stamp = dbt.split_part(batch_id, "'_'", 2) -%}
    coalesce(
        {{ wattlake.cast_delivered(
            "substring(" ~ stamp ~ ", 1, 4) || '-' || substring(" ~ stamp
            ~ ", 5, 2) || '-' || substring(" ~ stamp ~ ", 7, 2)",
            'date'
        ) }},
        cast({{ received_at_utc }} as date)
    )
{%- endmacro %}

{#- The CTEs that date a registry table's snapshots, shared by int_sites_versioned
    and int_meters_versioned: `deliveries` (one row per batch), `deliveries_dated`
    (its snapshot date), `deliveries_ranked` (two deliveries for the same date:
    the later one restates the earlier) and `snapshots` (one per date, numbered,
    with the next snapshot's date). `rows` is the CTE holding the staged rows.
    Emits the CTE definitions followed by a comma. -#}
{% macro registry_snapshots(rows) -%}
deliveries as (
    select
        {{ rows }}.batch_id,
        max({{ rows }}.received_at_utc) as received_at_utc
    from {{ rows }}
    group by {{ rows }}.batch_id
),

deliveries_dated as (
    select
        deliveries.batch_id,
        deliveries.received_at_utc,
        {{ wattlake.registry_snapshot_date(
            'deliveries.batch_id', 'deliveries.received_at_utc'
        ) }} as snapshot_date
    from deliveries
),

deliveries_ranked as (
    select
        deliveries_dated.batch_id,
        deliveries_dated.snapshot_date,
        -- two deliveries for the same date: the later one restates the earlier
        row_number() over (
            partition by deliveries_dated.snapshot_date
            order by
                deliveries_dated.received_at_utc desc,
                deliveries_dated.batch_id desc
        ) as rank_within_date
    from deliveries_dated
),

snapshots as (
    select
        deliveries_ranked.batch_id,
        deliveries_ranked.snapshot_date,
        row_number() over (
            order by deliveries_ranked.snapshot_date
        ) as snapshot_number,
        lead(deliveries_ranked.snapshot_date) over (
            order by deliveries_ranked.snapshot_date
        ) as next_snapshot_date
    from deliveries_ranked
    where deliveries_ranked.rank_within_date = 1
),
{%- endmacro %}
