{#- dbt's is_incremental(), plus two things of Wattlake's:
    - an offline switch for CI. Compiling for Athena or Redshift asks the
      warehouse whether the model's table exists, which needs a connection; with
      --vars '{wattlake_compile_as: incremental}' (or `full`) the answer is given
      instead, so both branches of every incremental model compile with no
      connection;
    - models materialized as lake_partitions (macros/lake_partitions.sql), whose
      relation is a view over the lake's files: incremental once that view
      exists and its files hold exactly the columns the model documents. A
      lake written before the model gained or lost a column is rebuilt whole,
      not read for a column it lacks nor left with files of two schemas.
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
            and not wattlake.lake_column_changes(relation)
        ) }}
    {%- endif -%}
    {{ return(dbt.is_incremental()) }}
{% endmacro %}

{#- How the columns of a lake_partitions model's files differ from the columns
    the model documents, as text ('lack a, b; hold c'), empty when they agree:
    files written before the model gained or lost a column. -#}
{% macro lake_column_changes(relation) %}
    {%- set stored = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- set documented = model.columns.keys() | map('lower') | list -%}
    {%- set changes = [] -%}
    {%- set lacked = documented | reject('in', stored) | list -%}
    {%- set extra = stored | reject('in', documented) | list -%}
    {%- if lacked %}{% do changes.append('lack column(s) ' ~ (lacked | join(', '))) %}{% endif -%}
    {%- if extra %}{% do changes.append('hold column(s) ' ~ (extra | join(', ')) ~ ' the model no longer has') %}{% endif -%}
    {{ return(changes | join('; ')) }}
{% endmacro %}
