{#- Helpers of the anomaly models (models/*/anomalies/). -#}

{#- Whole `grain`s (hour or day) from 2000-01-01 to `column`: consecutive
    hours (or days) differ by exactly 1, whatever the engine. -#}
{% macro periods_since_2000(column, grain) -%}
    {%- set epoch = "cast('2000-01-01' as " ~ ('timestamp' if grain == 'hour' else 'date') ~ ")" -%}
    {{ dbt.datediff(epoch, column, grain) }}
{%- endmacro %}

{#- An id made of what makes a row unique: the hash of the fingerprint of
    `columns` (macros/attributes_fingerprint.sql). -#}
{% macro text_key(columns) -%}
    {{ dbt.hash(wattlake.attributes_fingerprint(columns)) }}
{%- endmacro %}
