{#- One row per area, local weekday and local hour (macros/load_shapes.sql). -#}

{{ wattlake.group_load_profile_weekday_hour(
    'area_id', 'fct_area_hourly_usage'
) }}
