{#- 'weekday' (Monday to Friday) or 'weekend' (Saturday, Sunday) of a date: the
    day kinds of the time-of-use bands in the `tariff_time_of_use_bands` seed. -#}
{% macro day_kind(date) -%}
    case when {{ wattlake.iso_weekday(date) }} >= 6 then 'weekend' else 'weekday' end
{%- endmacro %}
