{#- Cast delivered text to a type; a value that does not parse becomes null.
    dbt's own safe_cast falls back to a plain cast on DuckDB and Redshift, which
    fails the whole run on one bad value, so we use try_cast, which all three
    engines have. Blank strings are null first (Redshift's TRY_CAST rejects them).
    (Not named safe_cast: a root-project macro of that name would replace dbt's.) -#}
{% macro cast_delivered(field, type) -%}
    {{ return(adapter.dispatch('cast_delivered', 'wattlake')(field, type)) }}
{%- endmacro %}

{% macro default__cast_delivered(field, type) -%}
    try_cast(nullif(trim({{ field }}), '') as {{ type }})
{%- endmacro %}

{#- DuckDB's try_cast ignores surrounding blanks and gives null for '' itself. -#}
{% macro duckdb__cast_delivered(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}
