{#- One row per area and local month (macros/group_usage.sql). -#}
{{ config(**wattlake.incremental_by(
    'reading_month_local', sort=['reading_month_local', 'area_id'], dist='area_id'
)) }}

{{ wattlake.group_monthly_usage('area_id', 'fct_area_daily_usage') }}
