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

{#- The CTEs that date a registry table's snapshots (`registry_versions` starts
    with them): `deliveries` (one row per batch), `deliveries_dated`
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

{#- The versions of a registry table (SCD type 2), shared by
    int_sites_versioned and int_meters_versioned: one row per `key` per
    version of `columns`, valid from the snapshot that first shows it until
    the next snapshot that changes it or no longer lists it (the
    `registry_versioning` doc block). `rows` is the CTE holding the staged
    rows. Emits the CTEs of `registry_snapshots` (the dated snapshots), then
    `in_snapshots` (a snapshot listing a record twice: its later line wins),
    `compared`, `changes_flagged`, `versions_numbered`, `versions` and
    `final` (the model selects from it), each followed by a comma but the
    last. -#}
{% macro registry_versions(rows, key, columns) -%}
{%- set compared_columns = [] %}
{%- for column in columns %}
    {%- do compared_columns.append('in_snapshots.' ~ column) %}
{%- endfor %}
{#- what each step carries to the next: the record and where it was seen -#}
{%- set carried = [key] + columns + ['batch_id', 'snapshot_date', 'snapshot_number'] %}
{{ wattlake.registry_snapshots(rows) }}

in_snapshots as (
    select
        {{ rows }}.{{ key }},
        {%- for column in columns %}
        {{ rows }}.{{ column }},
        {%- endfor %}
        {{ rows }}.batch_id,
        snapshots.snapshot_date,
        snapshots.snapshot_number,
        -- a snapshot listing a record twice: its later line wins
        row_number() over (
            partition by {{ rows }}.batch_id, {{ rows }}.{{ key }}
            order by {{ rows }}.source_line desc
        ) as rank_within_snapshot
    from {{ rows }}
    inner join snapshots
        on {{ rows }}.batch_id = snapshots.batch_id
    where {{ rows }}.{{ key }} is not null
),

compared as (
    select
        {%- for column in carried %}
        in_snapshots.{{ column }},
        {%- endfor %}
        {{ wattlake.attributes_fingerprint(compared_columns) }} as attributes
    from in_snapshots
    where in_snapshots.rank_within_snapshot = 1
),

changes_flagged as (
    select
        {%- for column in carried %}
        compared.{{ column }},
        {%- endfor %}
        -- a new version: first seen, back after missing from a snapshot, or changed
        case
            when
                lag(compared.snapshot_number) over (
                    partition by compared.{{ key }}
                    order by compared.snapshot_number
                ) = compared.snapshot_number - 1
                and lag(compared.attributes) over (
                    partition by compared.{{ key }}
                    order by compared.snapshot_number
                ) = compared.attributes
                then 0
            else 1
        end as starts_version
    from compared
),

versions_numbered as (
    select
        {%- for column in carried %}
        changes_flagged.{{ column }},
        {%- endfor %}
        changes_flagged.starts_version,
        sum(changes_flagged.starts_version) over (
            partition by changes_flagged.{{ key }}
            order by changes_flagged.snapshot_number
            rows between unbounded preceding and current row
        ) as version_number
    from changes_flagged
),

versions as (
    select
        versions_numbered.{{ key }},
        versions_numbered.version_number,
        min(versions_numbered.snapshot_number) as first_snapshot_number,
        max(versions_numbered.snapshot_number) as last_snapshot_number
    from versions_numbered
    group by versions_numbered.{{ key }}, versions_numbered.version_number
),

final as (
    select
        versions.{{ key }},
        cast(versions.version_number as {{ dbt.type_int() }}) as version_number,
        {%- for column in columns %}
        first_rows.{{ column }},
        {%- endfor %}
        first_rows.snapshot_date as valid_from,
        -- the next snapshot changed the record or no longer listed it
        last_snapshots.next_snapshot_date as valid_to,
        last_snapshots.next_snapshot_date is null as is_current,
        first_rows.batch_id as first_batch_id
    from versions
    inner join versions_numbered as first_rows
        on
            versions.{{ key }} = first_rows.{{ key }}
            and versions.first_snapshot_number = first_rows.snapshot_number
    inner join snapshots as last_snapshots
        on versions.last_snapshot_number = last_snapshots.snapshot_number
)
{%- endmacro %}
