{#- ISO day of the week of a date or timestamp: 1 = Monday ... 7 = Sunday. -#}
{% macro iso_weekday(value) -%}
    {{ return(adapter.dispatch('iso_weekday', 'wattlake')(value)) }}
{%- endmacro %}

{% macro default__iso_weekday(value) -%}
    {{ exceptions.raise_compiler_error("iso_weekday: no variant for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__iso_weekday(value) -%}
    isodow({{ value }})
{%- endmacro %}

{% macro athena__iso_weekday(value) -%}
    day_of_week({{ value }})
{%- endmacro %}

{#- Redshift's DOW is 0 = Sunday ... 6 = Saturday. -#}
{% macro redshift__iso_weekday(value) -%}
    (mod(cast(date_part(dow, {{ value }}) as integer) + 6, 7) + 1)
{%- endmacro %}

{#- The hour of the day (0-23) of a timestamp. -#}
{% macro hour_of_day(value) -%}
    cast(extract(hour from {{ value }}) as {{ dbt.type_int() }})
{%- endmacro %}
