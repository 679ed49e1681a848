{#- lake_partitions (DuckDB): a model stored once, as Hive-style Parquet in the
    lake, and read in the warehouse through a view over those files.

    Used for the validated and clean readings (incremental_in_lake() in
    incremental_by.sql), and without `partition_by` for the small tables the
    Spark job reads beside them (table_in_lake(): written whole, and only when
    its rows or columns changed):
    a city year is 350 million rows, and writing them into a DuckDB table and
    then again to the lake's Parquet (the contract the Spark job reads) costs
    twice what writing the Parquet alone does. The model keeps the incremental
    contract of macros/incremental_by.sql: its rows carry restated_at_utc, and
    is_incremental() is true once its view exists.

      full refresh: one COPY of the model's rows to `location`, partitioned by
                    `partition_by`; the folder is emptied first (OVERWRITE).
      incremental:  the model's rows (the restated keys only) are written once,
                    partitioned by the key, to a local folder beside the
                    warehouse; each key's folder in the lake is then replaced by
                    one COPY of its files there (OVERWRITE removes the files
                    the key had before).
      small table:  on a later run the rows go to a temporary table first and
                    are compared with the stored ones; the full refresh's COPY
                    runs only if they differ.
    Then the view is (re)created over `location`: read_parquet with Hive
    partitioning, or, while no file exists, an empty relation of the model's
    columns. -#}
{% materialization lake_partitions, adapter='duckdb' %}
    {%- set location = config.require('location') -%}
    {%- set key = config.get('partition_by') -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set incremental = key is not none and wattlake.is_incremental() -%}
    {%- set files = location ~ ('/*/*.parquet' if key else '/*.parquet') -%}
    {%- set unchanged = false -%}
    {#- a partitioned COPY gets rows in no order of the key: with DuckDB's
        default of 100 open partition files, a city year came out as 27,000
        small files; one file per key value stays open instead -#}
    {%- do run_query('set partitioned_write_max_open_files = 100000') -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- if key is none and existing_relation is not none and not should_full_refresh() %}
        {#- a small table: its files are written again (below) only when its
            rows or columns changed, so that a reader comparing file versions
            (the feature job's record, `wattlake features`) sees an unchanged
            table as unchanged -#}
        {%- set stage = this.identifier ~ '__rebuilt' -%}
        {% call statement('main') -%}
            create or replace temporary table {{ stage }} as
            {{ compiled_code }}
        {%- endcall %}
        {%- set stored = run_query("select count(*) from glob('" ~ files ~ "')").columns[0].values()[0] -%}
        {%- set unchanged = stored > 0 and wattlake._same_rows(stage, existing_relation) -%}
        {%- do run_query('drop table ' ~ stage) -%}
    {%- endif %}

    {%- if incremental %}
        {#- one pass over the model's query, partitioned by the key into a local
            folder beside the warehouse; each key's COPY then reads its own
            files only (from a temporary table, every COPY scanned all the
            restated rows: a city year restated in 365 such scans) -#}
        {%- set stage = target.path ~ '.' ~ this.identifier ~ '.restating' -%}
        {% call statement('main') -%}
            {{ wattlake._copy_to_lake(compiled_code, stage, 'partition_by (' ~ key ~ ')') }}
        {%- endcall %}
        {%- set keys = run_query(
            "select distinct regexp_extract(file, '/" ~ key ~ "=([^/]+)/', 1)"
            ~ " from glob('" ~ stage ~ "/*/*.parquet') order by 1"
        ).columns[0].values() -%}
        {%- for value in keys %}
            {%- do run_query(wattlake._copy_to_lake(
                "select * from read_parquet('" ~ stage ~ '/' ~ key ~ '=' ~ value ~ "/*.parquet', hive_partitioning = false)",
                location ~ '/' ~ key ~ '=' ~ value,
                'per_thread_output true'
            )) -%}
        {%- endfor %}
        {#- empties the stage (DuckDB leaves one file of no rows) -#}
        {%- do run_query(wattlake._copy_to_lake('select 1 as emptied where false', stage, 'per_thread_output true')) -%}
    {%- elif not unchanged %}
        {%- if existing_relation is not none %}
            {%- set changes = wattlake.lake_column_changes(existing_relation) if key and not should_full_refresh() else '' -%}
            {%- if changes %}
                {{- log(this.identifier ~ ": the files in " ~ location ~ " " ~ changes ~ ": rebuilding it whole", info=true) -}}
            {%- endif %}
            {{ adapter.drop_relation(existing_relation) }}
        {%- endif %}
        {% call statement('main') -%}
            {{ wattlake._copy_to_lake(
                compiled_code, location,
                ('partition_by (' ~ key ~ ')' if key else 'per_thread_output true')
                ~ ", filename_pattern 'part_{i}'"
            ) }}
        {%- endcall %}
        {%- set keys = none -%}
    {%- endif %}
    {%- do run_query('reset partitioned_write_max_open_files') -%}

    {%- set found = run_query("select count(*) from glob('" ~ files ~ "')").columns[0].values()[0] -%}
    {% call statement('create_view') -%}
        create or replace view {{ target_relation }} as
        {% if found > 0 -%}
            select * from read_parquet(
                '{{ files }}'
                {%- if key %}, hive_partitioning = true, hive_types = {'{{ key }}': 'date'}{% endif %}
            )
        {%- else -%}
            {%- set columns = get_column_schema_from_query(compiled_code) -%}
            select
            {%- for column in columns %}
                cast(null as {{ column.data_type }}) as {{ adapter.quote(column.name) }}{{ ',' if not loop.last }}
            {%- endfor %}
            where 1 = 0
        {%- endif %}
    {%- endcall %}
    {%- if execute %}
        {%- if incremental %}
            {{- log(this.identifier ~ ": " ~ (keys | length) ~ " " ~ key ~ " value(s) replaced in " ~ location, info=true) -}}
        {%- elif unchanged %}
            {{- log(this.identifier ~ ": rows unchanged, the files in " ~ location ~ " left as they were", info=true) -}}
        {%- else %}
            {{- log(this.identifier ~ ": written to " ~ location, info=true) -}}
        {%- endif %}
    {%- endif %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{#- Whether the temporary table `stage` holds the same columns (names and
    types, in order) and the same rows (as a multiset) as `relation`. -#}
{% macro _same_rows(stage, relation) -%}
    {%- set described = [] -%}
    {%- for name in [stage, relation] -%}
        {%- set columns = run_query('select column_name, column_type from (describe ' ~ name ~ ')') -%}
        {%- do described.append(columns.rows | map('list') | list) -%}
    {%- endfor -%}
    {%- if described[0] != described[1] -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set differing = run_query(
        '(select * from ' ~ stage ~ ' except all select * from ' ~ relation ~ ')'
        ~ ' union all '
        ~ '(select * from ' ~ relation ~ ' except all select * from ' ~ stage ~ ') limit 1'
    ) -%}
    {{ return(differing.rows | length == 0) }}
{%- endmacro %}

{#- COPY a query's rows to Parquet at `path`, replacing what is there. -#}
{% macro _copy_to_lake(query, path, options) -%}
    copy ({{ query }}) to '{{ path }}' (
        format parquet,
        compression zstd,
        overwrite true,
        {{ options }}
    )
{%- endmacro %}
