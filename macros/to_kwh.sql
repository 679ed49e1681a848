{#- Energy in kWh for one interval, from a delivered value and unit. Units are
    converted here and nowhere else. kW is average demand over the interval, so
    it becomes energy by multiplying with the interval's length in hours.
    Unknown units give null (the row is then quarantined with a reason). -#}
{% macro to_kwh(value, unit, interval_minutes) -%}
    case {{ wattlake.trimmed(unit) }}
        when 'kWh' then {{ wattlake.cast_delivered(value, wattlake.type_double()) }}
        when 'Wh' then {{ wattlake.cast_delivered(value, wattlake.type_double()) }} / 1000.0
        when 'kW' then {{ wattlake.cast_delivered(value, wattlake.type_double()) }}
            * {{ wattlake.cast_delivered(interval_minutes, dbt.type_int()) }} / 60.0
    end
{%- endmacro %}

{#- A delivered text with surrounding blanks removed, trimming only when needed
    (a trim on every one of a city year's readings costs seconds). -#}
{% macro trimmed(field) -%}
    case
        when {{ field }} like ' %' or {{ field }} like '% ' then trim({{ field }})
        else {{ field }}
    end
{%- endmacro %}
