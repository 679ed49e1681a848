{#- A source that may have no deliveries yet: `source(source_name, table_name)`,
    or, when nothing has been landed in its raw table, an empty relation with
    the source's declared columns (their `data_type` in the sources YAML), so a
    lake without (say) weather still builds, with empty weather models.

    DuckDB reads raw tables through read_parquet over a glob, which fails when
    the glob matches no file: the glob is checked first. On Athena and Redshift
    the source is a catalog table over the raw prefix, which reads as empty when
    the prefix holds no file: the source is used as it is. Unit tests always get
    the source (their fixture). -#}
{% macro delivered_source(source_name, table_name) -%}
    {{ return(adapter.dispatch('delivered_source', 'wattlake')(source_name, table_name)) }}
{%- endmacro %}

{% macro default__delivered_source(source_name, table_name) -%}
    {{ return(source(source_name, table_name)) }}
{%- endmacro %}

{% macro duckdb__delivered_source(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if not execute or model.resource_type == 'unit_test' -%}
        {{ return(relation) }}
    {%- endif -%}
    {#- the glob of its files: meta.lake_glob, or the raw table's -#}
    {%- set node = graph.sources.values()
        | selectattr('source_name', 'equalto', source_name)
        | selectattr('name', 'equalto', table_name)
        | first -%}
    {%- set glob = node.meta.get('lake_glob') or ('raw/' ~ table_name ~ '/*/*.parquet') -%}
    {%- set pattern = wattlake.lake_uri(glob) -%}
    {%- set found = run_query("select count(*) from glob('" ~ pattern ~ "')") -%}
    {%- if found.columns[0].values()[0] > 0 -%}
        {{ return(relation) }}
    {%- endif -%}
    {{- log(source_name ~ "." ~ table_name ~ ": nothing landed under " ~ pattern ~ ", reading an empty table", info=true) -}}
    {{ return("(" ~ wattlake.empty_source_select(source_name, table_name) ~ ")") }}
{%- endmacro %}

{#- select cast(null as <data_type>) as <column>, ... with no rows. -#}
{% macro empty_source_select(source_name, table_name) -%}
    {%- set node = graph.sources.values()
        | selectattr('source_name', 'equalto', source_name)
        | selectattr('name', 'equalto', table_name)
        | first -%}
    {%- set columns = node.columns.values() | list -%}
    {%- set untyped = columns | rejectattr('data_type') | map(attribute='name') | list -%}
    {%- if not columns or untyped -%}
        {{ exceptions.raise_compiler_error("delivered_source: give every column of source " ~ source_name ~ "." ~ table_name ~ " a data_type (missing: " ~ (untyped | join(', ') or 'no columns declared') ~ ")") }}
    {%- endif -%}
    select
    {%- for column in columns %}
        cast(null as {{ column.data_type }}) as {{ column.name }}{{ "," if not loop.last }}
    {%- endfor %}
    where 1 = 0
{%- endmacro %}
