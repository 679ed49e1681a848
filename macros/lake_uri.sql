{#- A location in the lake, e.g. lake_uri('clean/readings'). The lake root comes
    from WATTLAKE_LAKE (`wattlake` sets it from wattlake.toml), mirroring
    wattlake.storage.Lake, which owns the layout on the Python side. -#}
{% macro lake_uri(path) -%}
    {{- env_var('WATTLAKE_LAKE', './lake').rstrip('/') ~ '/' ~ path -}}
{%- endmacro %}
