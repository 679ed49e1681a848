{#- dbt's is_incremental(), plus two things of Wattlake's:
    - an offline switch for CI. Compiling for Athena or Redshift asks the
      warehouse whether the model's table exists, which needs a connection; with
      --vars '{wattlake_compile_as: incremental}' (or `full`) the answer is given
      instead, so both branches of every incremental model compile with no
      connection;
    - models materialized as lake_partitions (macros/lake_partitions.sql), whose
      relation is a view over the lake's files: incremental once that view
      exists and its files hold every column the model documents. A lake
      written before the model gained a column is rebuilt whole, not read
      for a column it lacks.
    Otherwise this is exactly dbt's macro. -#}
{% macro is_incremental() %}
    {%- set forced = var('wattlake_compile_as', none) -%}
    {%- if forced is not none -%}
        {{ return(forced == 'incremental') }}
    {%- endif -%}
    {%- if execute and model.config.materialized == 'lake_partitions' -%}
        {%- set relation = adapter.get_relation(this.database, this.schema, this.table) -%}
        {{ return(
            relation is not none and relation.type == 'view' and not should_full_refresh()
            and not wattlake.columns_not_in_lake(relation)
        ) }}
    {%- endif -%}
    {{ return(dbt.is_incremental()) }}
{% endmacro %}

{#- The columns the model documents that its view over the lake's files lacks
    (a lake_partitions model whose files were written before it gained them). -#}
{% macro columns_not_in_lake(relation) %}
    {%- set stored = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {{ return(model.columns.keys() | map('lower') | reject('in', stored) | list) }}
{% endmacro %}
