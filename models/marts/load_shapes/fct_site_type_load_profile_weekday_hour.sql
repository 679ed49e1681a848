{#- One row per site type,
    local weekday and local hour (macros/load_shapes.sql). -#}

{{ wattlake.group_load_profile_weekday_hour(
    'site_type', 'fct_site_type_hourly_usage'
) }}
