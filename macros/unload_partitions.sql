{#- Redshift: publish the `key` values this run wrote to `<lake>/<path>/` as
    Hive-style Parquet partitions (key=value), with UNLOAD ... PARTITION BY,
    one value per statement; CLEANPATH removes the files already in the
    partition folder it writes. The post-hook of a model configured with
    incremental_in_lake() (macros/incremental_by.sql). The model replaces
    whole key values, so every row of a value it touched carries this run's
    stamp: those are the values to publish. -#}
{% macro unload_partitions(key, path) -%}
    {%- if not env_var('WATTLAKE_REDSHIFT_UNLOAD_ROLE_ARN', '') -%}
        {{ exceptions.raise_compiler_error("unload_partitions: set WATTLAKE_REDSHIFT_UNLOAD_ROLE_ARN to a role that may write " ~ wattlake.lake_uri(path)) }}
    {%- endif -%}
    {%- set touched -%}
        select distinct {{ key }}
        from {{ this }}
        where restated_at_utc = {{ wattlake.run_timestamp() }}
        order by {{ key }}
    {%- endset -%}
    {%- set values = run_query(touched).columns[0].values() if execute else [] -%}
    {%- set columns = adapter.get_columns_in_relation(this)
        | map(attribute='name')
        | reject('in', [key])
        | list -%}
    {%- for value in values %}
        {%- set unload -%}
            unload (
                'select {{ columns | join(", ") }}, {{ key }}
                 from {{ this }} where {{ key }} = ''{{ value }}'''
            )
            to '{{ wattlake.lake_uri(path) }}/'
            iam_role '{{ env_var('WATTLAKE_REDSHIFT_UNLOAD_ROLE_ARN', '') }}'
            format as parquet
            partition by ({{ key }})
            cleanpath
        {%- endset -%}
        {%- do run_query(unload) -%}
    {%- endfor %}
    select 1
{%- endmacro %}

{#- Redshift: publish a whole table to `<lake>/<path>/` as Parquet, replacing
    the files there (CLEANPATH). The post-hook of table_in_lake(). -#}
{% macro unload_table(path) -%}
    {%- if not env_var('WATTLAKE_REDSHIFT_UNLOAD_ROLE_ARN', '') -%}
        {{ exceptions.raise_compiler_error("unload_table: set WATTLAKE_REDSHIFT_UNLOAD_ROLE_ARN to a role that may write " ~ wattlake.lake_uri(path)) }}
    {%- endif -%}
    unload ('select * from {{ this }}')
    to '{{ wattlake.lake_uri(path) }}/'
    iam_role '{{ env_var('WATTLAKE_REDSHIFT_UNLOAD_ROLE_ARN', '') }}'
    format as parquet
    cleanpath
{%- endmacro %}
