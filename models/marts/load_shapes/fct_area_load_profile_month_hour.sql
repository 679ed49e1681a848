{#- One row per area, local month and local hour (macros/load_shapes.sql). -#}

{{ wattlake.group_load_profile_month_hour(
    'area_id', 'fct_area_hourly_usage'
) }}
