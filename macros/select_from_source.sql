{#- `select * from` a source that may have no file in the lake yet. On DuckDB a
    source reads the lake through `read_parquet('<glob>', ...)`, which fails when
    the glob matches nothing: a lake built by `wattlake import` has no tariff
    deliveries, for example. There, this returns an empty relation with the
    source's documented columns and their `data_type`s instead, so the models
    downstream build (and their tests run) on no rows. On Athena and Redshift a
    source is a catalog table, empty or not: plain `select *`. -#}
{% macro select_from_source(source_name, table_name) -%}
    {{ return(adapter.dispatch('select_from_source', 'wattlake')(source_name, table_name)) }}
{%- endmacro %}

{% macro default__select_from_source(source_name, table_name) -%}
    select * from {{ source(source_name, table_name) }}
{%- endmacro %}

{% macro duckdb__select_from_source(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if not execute -%}
        {{ return('select * from ' ~ relation) }}
    {%- endif -%}
    {%- set node = graph.sources['source.' ~ project_name ~ '.' ~ source_name ~ '.' ~ table_name] -%}
    {%- set location = node.config.meta.get('external_location') or node.meta.get('external_location') -%}
    {%- if not location or "read_parquet('" not in location -%}
        {{ exceptions.raise_compiler_error("select_from_source: source " ~ source_name ~ "." ~ table_name ~ " has no read_parquet('<glob>') external_location") }}
    {%- endif -%}
    {%- set glob = location.split("read_parquet('", 1)[1].split("'", 1)[0] -%}
    {%- set found = run_query("select count(*) from glob('" ~ glob ~ "')").columns[0].values()[0] -%}
    {%- if found > 0 -%}
        {{ return('select * from ' ~ relation) }}
    {%- endif -%}
    {%- do log("select_from_source: no file matches " ~ glob ~ " yet; " ~ source_name ~ "." ~ table_name ~ " reads as empty", info=true) -%}
    {%- set columns = [] -%}
    {%- for name, column in node.columns.items() -%}
        {%- if not column.data_type -%}
            {{ exceptions.raise_compiler_error("select_from_source: column " ~ name ~ " of source " ~ source_name ~ "." ~ table_name ~ " needs a data_type to read as empty") }}
        {%- endif -%}
        {%- do columns.append('cast(null as ' ~ column.data_type ~ ') as ' ~ name) -%}
    {%- endfor -%}
    select
        {{ columns | join(',\n        ') }}
    where 1 = 0
{%- endmacro %}
