{#- When this dbt invocation started, as a UTC timestamp without time zone: the
    watermark incremental models stamp on the rows they write, so the next model
    (and the next run) can tell which rows are new. -#}
{% macro run_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- A timestamp before any reading: the watermark of a model with no rows yet. -#}
{% macro epoch_timestamp() -%}
    cast('1970-01-01 00:00:00' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- Placed after `as` in a CTE that is read more than once: DuckDB would otherwise
    materialize it (a city year of readings held in memory); the others inline
    CTEs anyway. -#}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized', 'wattlake')()) }}
{%- endmacro %}

{% macro default__not_materialized() -%}
{%- endmacro %}

{% macro duckdb__not_materialized() -%}
    not materialized
{%- endmacro %}
