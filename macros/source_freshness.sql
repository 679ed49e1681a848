{#- Helpers of fct_source_freshness; the thresholds are the wattlake_freshness
    var of dbt_project.yml, which the sources' dbt freshness config reads too. -#}

{#- The source tables of the wattlake_freshness var, one dict each: source_name,
    table_name, cte (a name for the table in SQL), spec (its entry: model and
    data timestamp) and the thresholds in hours (none when not set). -#}
{% macro freshness_tables() -%}
    {%- set tables = [] -%}
    {%- for source_name, source_spec in var('wattlake_freshness').items() -%}
        {%- for table_name, table_spec in source_spec['tables'].items() -%}
            {%- do tables.append({
                'source_name': source_name,
                'table_name': table_name,
                'cte': source_name ~ '__' ~ table_name,
                'spec': table_spec,
                'warn_after_hours': wattlake.freshness_threshold_hours(
                    source_spec.get('warn_after')),
                'error_after_hours': wattlake.freshness_threshold_hours(
                    source_spec.get('error_after')),
            }) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(tables) }}
{%- endmacro %}

{#- A threshold in hours as a SQL literal (null when not set). -#}
{% macro freshness_hours_literal(hours) -%}
    cast({{ 'null' if hours is none else hours }} as {{ wattlake.type_double() }})
{%- endmacro %}

{#- A dbt freshness threshold ({count: 3, period: day}) in hours. -#}
{% macro freshness_threshold_hours(threshold) -%}
    {%- set hours_per = {'minute': 1 / 60, 'hour': 1, 'day': 24} -%}
    {%- if threshold is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if threshold['period'] not in hours_per -%}
        {{ exceptions.raise_compiler_error(
            "wattlake_freshness: period must be minute, hour or day, got "
            ~ threshold['period']) }}
    {%- endif -%}
    {{ return(threshold['count'] * hours_per[threshold['period']]) }}
{%- endmacro %}

{#- The time the data of one landed row covers, as a timestamp: the table's
    `data_timestamp` column, or its `data_timestamp_macro` (a wattlake macro
    called with the batch id and received_at columns), else null. -#}
{% macro freshness_data_timestamp(table_spec, relation_alias) -%}
    {%- if table_spec.get('data_timestamp') -%}
        cast({{ relation_alias }}.{{ table_spec['data_timestamp'] }} as {{ dbt.type_timestamp() }})
    {%- elif table_spec.get('data_timestamp_macro') -%}
        {#- looked up by name in this project's macros (dbt's static parser
            cannot follow adapter.dispatch with a name that is not a literal) -#}
        {%- set data_timestamp = wattlake[table_spec['data_timestamp_macro']] -%}
        cast({{ data_timestamp(
            relation_alias ~ '.batch_id', relation_alias ~ '.received_at_utc'
        ) }} as {{ dbt.type_timestamp() }})
    {%- else -%}
        cast(null as {{ dbt.type_timestamp() }})
    {%- endif -%}
{%- endmacro %}

{#- When freshness is judged: the var wattlake_freshness_as_of (a UTC timestamp,
    for tests and replays) or the time of the run, in UTC. -#}
{% macro freshness_checked_at() -%}
    {%- set as_of = var('wattlake_freshness_as_of', none) -%}
    {%- if as_of -%}
        cast('{{ as_of }}' as {{ dbt.type_timestamp() }})
    {%- else -%}
        {{ wattlake.current_timestamp_utc() }}
    {%- endif -%}
{%- endmacro %}

{#- Now, in UTC, as a timestamp without time zone (like every *_utc column). -#}
{% macro current_timestamp_utc() -%}
    {{ return(adapter.dispatch('current_timestamp_utc', 'wattlake')()) }}
{%- endmacro %}

{% macro default__current_timestamp_utc() -%}
    {{ exceptions.raise_compiler_error("current_timestamp_utc: no variant for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__current_timestamp_utc() -%}
    cast(timezone('UTC', now()) as timestamp)
{%- endmacro %}

{% macro athena__current_timestamp_utc() -%}
    cast(at_timezone(current_timestamp, 'UTC') as timestamp)
{%- endmacro %}

{#- Redshift's getdate() is the UTC time of the current statement. -#}
{% macro redshift__current_timestamp_utc() -%}
    getdate()
{%- endmacro %}
