{#- One text value that is equal for two rows exactly when each of `columns`
    is equal (null equal to null): a null-safe way to ask "did anything
    change?" on every engine (Redshift has no IS DISTINCT FROM). Each value is
    cast to text and prefixed with its length, so no two different rows can
    run together into the same text; a null becomes a bare marker. -#}
{% macro attributes_fingerprint(columns) -%}
    {%- for column in columns %}
        {%- set text = "cast(" ~ column ~ " as " ~ dbt.type_string() ~ ")" %}
        coalesce(cast(length({{ text }}) as {{ dbt.type_string() }}) || ':' || {{ text }}, '-')
        {%- if not loop.last %} || '|' ||{% endif %}
    {%- endfor %}
{%- endmacro %}
