{#- Publish the reading dates this run wrote to `<lake>/clean/readings/` as
    Hive-style Parquet partitions (reading_date=YYYY-MM-DD), the contract the
    Spark job reads. Used as the post-hook of int_readings_cleaned.

    The incremental model replaces whole reading dates, so every row of a date
    it touched carries this run's timestamp: those are the dates to publish.
    Each date is written by its own statement as one file with a fixed name,
    so a re-published date replaces its file and nothing stale is left behind. -#}
{% macro publish_clean_readings() -%}
    {{ return(adapter.dispatch('publish_clean_readings', 'wattlake')()) }}
{%- endmacro %}

{% macro default__publish_clean_readings() -%}
    {{ exceptions.raise_compiler_error("publish_clean_readings: no variant for " ~ target.type) }}
{%- endmacro %}

{#- Athena: the model itself is the Hive table located at clean/readings,
    written by insert_overwrite per reading_date; nothing more to do. -#}
{% macro athena__publish_clean_readings() -%}
    select 1
{%- endmacro %}

{% macro _touched_reading_dates() -%}
    {%- set query -%}
        select distinct reading_date
        from {{ this }}
        where restated_at_utc = {{ wattlake.run_timestamp() }}
        order by reading_date
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() if execute else []) }}
{%- endmacro %}

{#- DuckDB: COPY ... PARTITION_BY, one reading date per statement (a single
    partition is always one file: readings_0.parquet). -#}
{% macro duckdb__publish_clean_readings() -%}
    {%- set dates = wattlake._touched_reading_dates() -%}
    {%- for reading_date in dates %}
        {%- set copy -%}
            copy (
                select * exclude (restated_at_utc)
                from {{ this }}
                where reading_date = date '{{ reading_date }}'
            ) to '{{ wattlake.lake_uri("clean/readings") }}' (
                format parquet,
                compression zstd,
                partition_by (reading_date),
                overwrite_or_ignore true,
                filename_pattern 'readings_{i}'
            )
        {%- endset -%}
        {%- do run_query(copy) -%}
    {%- endfor %}
    {%- if execute %}
        {{- log("publish_clean_readings: " ~ (dates | length) ~ " reading date(s) written to " ~ wattlake.lake_uri("clean/readings"), info=true) -}}
    {%- endif %}
    select 1
{%- endmacro %}

{#- Redshift: UNLOAD ... PARTITION BY, one reading date per statement.
    CLEANPATH removes the files already in the partition folder it writes. -#}
{% macro redshift__publish_clean_readings() -%}
    {%- if not env_var('WATTLAKE_REDSHIFT_UNLOAD_ROLE_ARN', '') -%}
        {{ exceptions.raise_compiler_error("publish_clean_readings: set WATTLAKE_REDSHIFT_UNLOAD_ROLE_ARN to a role that may write " ~ wattlake.lake_uri("clean/readings")) }}
    {%- endif -%}
    {%- set dates = wattlake._touched_reading_dates() -%}
    {%- set columns = adapter.get_columns_in_relation(this)
        | map(attribute='name')
        | reject('in', ['restated_at_utc', 'reading_date'])
        | list -%}
    {%- for reading_date in dates %}
        {%- set unload -%}
            unload (
                'select {{ columns | join(", ") }}, reading_date
                 from {{ this }} where reading_date = ''{{ reading_date }}'''
            )
            to '{{ wattlake.lake_uri("clean/readings") }}/'
            iam_role '{{ env_var('WATTLAKE_REDSHIFT_UNLOAD_ROLE_ARN', '') }}'
            format as parquet
            partition by (reading_date)
            cleanpath
        {%- endset -%}
        {%- do run_query(unload) -%}
    {%- endfor %}
    select 1
{%- endmacro %}
