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
