{#- The calendar date of a UTC timestamp in an IANA time zone (a column or a
    quoted literal). Daily marts group by it, so DST days have 23 or 25 hours. -#}
{% macro local_date(timestamp_utc, time_zone) -%}
    {{ return(adapter.dispatch('local_date', 'wattlake')(timestamp_utc, time_zone)) }}
{%- endmacro %}

{% macro default__local_date(timestamp_utc, time_zone) -%}
    {{ exceptions.raise_compiler_error("local_date: no variant for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__local_date(timestamp_utc, time_zone) -%}
    cast(timezone({{ time_zone }}, timezone('UTC', {{ timestamp_utc }})) as date)
{%- endmacro %}

{% macro athena__local_date(timestamp_utc, time_zone) -%}
    cast(at_timezone(with_timezone({{ timestamp_utc }}, 'UTC'), {{ time_zone }}) as date)
{%- endmacro %}

{% macro redshift__local_date(timestamp_utc, time_zone) -%}
    cast(convert_timezone('UTC', {{ time_zone }}, {{ timestamp_utc }}) as date)
{%- endmacro %}
