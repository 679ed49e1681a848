{#- One row per site type,
    local month and local hour (macros/load_shapes.sql). -#}

{{ wattlake.group_load_profile_month_hour(
    'site_type', 'fct_site_type_hourly_usage'
) }}
