{#- How Wattlake's incremental models restate data, one mechanism on every engine.

    Every incremental model stamps the rows it writes with restated_at_utc (when
    the run started). A model finds what changed upstream since its own last run
    with restated_keys(): the distinct values of its key among the upstream rows
    stamped later than its own newest row. It then recomputes exactly those keys
    from all upstream rows that have them, and the engine replaces them:
      DuckDB:   delete+insert on the key;
      Redshift: delete+insert on the key, with sort and dist keys;
      Athena:   insert_overwrite of Hive partitions; daily facts are partitioned
                by month (a query may write at most 100 partitions), so there
                the key is the month and whole months are restated.
    A full refresh and any sequence of incremental runs give the same rows. -#}

{#- The config of an incremental model keyed by `key` (a date column);
    `athena_key` is the partition column on Athena when it differs. -#}
{% macro incremental_by(key, athena_key=none, sort=none, dist=none) -%}
    {%- set common = {'materialized': 'incremental', 'on_schema_change': 'fail'} -%}
    {%- if target.type == 'athena' -%}
        {%- do common.update({
            'incremental_strategy': 'insert_overwrite',
            'partitioned_by': [athena_key or key],
        }) -%}
    {%- elif target.type == 'redshift' -%}
        {%- do common.update({
            'incremental_strategy': 'delete+insert',
            'unique_key': [key],
            'sort': sort or [key],
            'dist': dist or 'even',
        }) -%}
    {%- else -%}
        {#- The key as a string, not a list: dbt-duckdb deletes a list's keys
            with `delete ... using <new rows> where <key> = <key>`, a join of
            every old row of a date with every new row of it (a city date of
            the meter-hour roll-up, 240,000 rows each side: not done in 10
            minutes), and a string's with `where <key> in (select <key> ...)`
            (0.1 s). -#}
        {%- do common.update({'incremental_strategy': 'delete+insert', 'unique_key': key}) -%}
    {%- endif -%}
    {{ return(common) }}
{%- endmacro %}

{#- The config of an incremental model whose rows are stored in the lake at
    `path` (e.g. clean/readings) as Hive-style Parquet partitioned by `key`:
      DuckDB:   lake_partitions (macros/lake_partitions.sql): the rows are written
                once, to the lake, and the warehouse reads them through a view;
      Athena:   the incremental table itself is located at `path`;
      Redshift: an incremental table, unloaded to `path` after each run when
                `publish` (the lake copy is a contract other engines, Spark,
                read); without it the rows stay in Redshift alone. -#}
{% macro incremental_in_lake(key, path, sort=none, dist=none, publish=true) -%}
    {%- if target.type == 'duckdb' -%}
        {{ return({
            'materialized': 'lake_partitions',
            'location': wattlake.lake_uri(path),
            'partition_by': key,
        }) }}
    {%- endif -%}
    {%- set config = wattlake.incremental_by(key, sort=sort, dist=dist) -%}
    {%- if target.type == 'athena' -%}
        {%- do config.update({'external_location': wattlake.lake_uri(path)}) -%}
    {%- elif target.type == 'redshift' and publish -%}
        {%- do config.update({
            'post_hook': "{{ wattlake.unload_partitions('" ~ key ~ "', '" ~ path ~ "') }}"
        }) -%}
    {%- endif -%}
    {{ return(config) }}
{%- endmacro %}

{#- The key this engine restates by: `key`, or `athena_key` on Athena. -#}
{% macro restate_key(key, athena_key=none) -%}
    {{- athena_key if (target.type == 'athena' and athena_key) else key -}}
{%- endmacro %}

{#- A filter for the upstream rows to recompute: in an incremental run, those
    whose key value some upstream row restated since this model's last run,
    or that the query `also` selects (for what changes a model's rows without
    a stamp upstream: fct_site_daily_cost's tariffs); in a full build, every
    row (an always-true condition). `alias` qualifies the key in the outer
    query.

    On DuckDB the restated keys are looked up first and written into the
    filter as date literals, which the scan uses to skip row groups: as a
    subquery, the filter joined every upstream row (a city year of clean
    readings: 22 s to find nothing to restate, 0.2 s for one literal date).
    Offline compiles (var wattlake_compile_as) keep the subquery. -#}
{% macro restated_rows(upstream, key, athena_key=none, alias=none, also=none) -%}
    {%- set column = wattlake.restate_key(key, athena_key) -%}
    {%- if is_incremental() -%}
        {%- set restated -%}
            select distinct restated.{{ column }}
            from {{ upstream }} as restated
            where restated.restated_at_utc > (
                select coalesce(max(current_rows.restated_at_utc), {{ wattlake.epoch_timestamp() }})
                from {{ this }} as current_rows
            )
            {%- if also %}
            union
            {{ also }}
            {%- endif %}
        {%- endset -%}
        {%- set qualified = ((alias ~ '.') if alias) ~ column -%}
        {%- if execute and wattlake.inlines_restated_keys() and var('wattlake_compile_as', none) is none -%}
            {%- set keys = run_query(restated ~ ' order by 1').columns[0].values() | reject('none') | list -%}
            {%- if keys -%}
                {{ qualified }} in (
                {%- for value in keys %}
                    cast('{{ value }}' as date){{ ',' if not loop.last }}
                {%- endfor %}
                )
            {%- else -%}
                1 = 0
            {%- endif -%}
        {%- else -%}
            {{ qualified }} in (
                {{ restated }}
            )
        {%- endif -%}
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{#- Whether restated_rows() looks the restated keys up before the query. -#}
{% macro inlines_restated_keys() -%}
    {{ return(adapter.dispatch('inlines_restated_keys', 'wattlake')()) }}
{%- endmacro %}

{% macro default__inlines_restated_keys() -%}
    {{ return(false) }}
{%- endmacro %}

{% macro duckdb__inlines_restated_keys() -%}
    {{ return(true) }}
{%- endmacro %}

{#- The config of a small model rebuilt whole on every run and published to
    the lake at `path` as Parquet, for the Spark job to read beside the clean
    readings (the meter registry, the hourly weather):
      DuckDB:   lake_partitions without a partition key: one COPY to `path`;
      Athena:   a Parquet table located at `path`;
      Redshift: a table, unloaded to `path` after each run (unload_table). -#}
{% macro table_in_lake(path) -%}
    {%- if target.type == 'duckdb' -%}
        {{ return({'materialized': 'lake_partitions', 'location': wattlake.lake_uri(path)}) }}
    {%- elif target.type == 'athena' -%}
        {{ return({
            'materialized': 'table',
            'format': 'parquet',
            'external_location': wattlake.lake_uri(path),
        }) }}
    {%- endif -%}
    {{ return({
        'materialized': 'table',
        'post_hook': "{{ wattlake.unload_table('" ~ path ~ "') }}",
    }) }}
{%- endmacro %}
