{#- One row per area and local month (macros/load_shapes.sql). -#}

{{ wattlake.group_monthly_usage_comparison(
    'area_id', 'fct_area_monthly_usage'
) }}
