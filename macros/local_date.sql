{#- Local wall-clock time of a UTC timestamp in an IANA time zone (a column or a
    quoted literal), as a timestamp without time zone. Time-of-use bands, load
    shapes and "after hours" read the local hour from it. -#}
{% macro local_timestamp(timestamp_utc, time_zone) -%}
    {{ return(adapter.dispatch('local_timestamp', 'wattlake')(timestamp_utc, time_zone)) }}
{%- endmacro %}

{% macro default__local_timestamp(timestamp_utc, time_zone) -%}
    {{ exceptions.raise_compiler_error("local_timestamp: no variant for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__local_timestamp(timestamp_utc, time_zone) -%}
    timezone({{ time_zone }}, timezone('UTC', {{ timestamp_utc }}))
{%- endmacro %}

{% macro athena__local_timestamp(timestamp_utc, time_zone) -%}
    cast(at_timezone(with_timezone({{ timestamp_utc }}, 'UTC'), {{ time_zone }}) as timestamp)
{%- endmacro %}

{% macro redshift__local_timestamp(timestamp_utc, time_zone) -%}
    convert_timezone('UTC', {{ time_zone }}, {{ timestamp_utc }})
{%- endmacro %}

{#- The calendar date of a UTC timestamp in an IANA time zone. Daily marts group
    by it, so DST days have 23 or 25 hours. -#}
{% macro local_date(timestamp_utc, time_zone) -%}
    cast({{ wattlake.local_timestamp(timestamp_utc, time_zone) }} as date)
{%- endmacro %}

{#- The UTC instant of a local wall-clock time in an IANA time zone. Engines
    differ on a local time that occurs twice (the autumn DST hour) or never (the
    spring hour): callers that meet those check the result with local_timestamp. -#}
{% macro local_to_utc(timestamp_local, time_zone) -%}
    {{ return(adapter.dispatch('local_to_utc', 'wattlake')(timestamp_local, time_zone)) }}
{%- endmacro %}

{% macro default__local_to_utc(timestamp_local, time_zone) -%}
    {{ exceptions.raise_compiler_error("local_to_utc: no variant for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__local_to_utc(timestamp_local, time_zone) -%}
    timezone('UTC', timezone({{ time_zone }}, {{ timestamp_local }}))
{%- endmacro %}

{% macro athena__local_to_utc(timestamp_local, time_zone) -%}
    cast(with_timezone({{ timestamp_local }}, {{ time_zone }}) at time zone 'UTC' as timestamp)
{%- endmacro %}

{% macro redshift__local_to_utc(timestamp_local, time_zone) -%}
    convert_timezone({{ time_zone }}, 'UTC', {{ timestamp_local }})
{%- endmacro %}
