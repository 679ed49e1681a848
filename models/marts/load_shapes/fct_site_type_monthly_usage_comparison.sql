{#- One row per site type and local month (macros/load_shapes.sql). -#}

{{ wattlake.group_monthly_usage_comparison(
    'site_type', 'fct_site_type_monthly_usage'
) }}
