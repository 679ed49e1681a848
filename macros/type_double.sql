{#- A 64-bit float. wattlake.type_double() is a 32-bit REAL on DuckDB: too coarse for
    energy sums, and Tableau's Hyper refuses 32-bit floats. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'wattlake')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double
{%- endmacro %}

{% macro redshift__type_double() -%}
    double precision
{%- endmacro %}
