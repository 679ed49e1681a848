{#- One row per area and local day (macros/group_usage.sql). -#}
{{ config(**wattlake.incremental_by(
    'reading_date_local', athena_key='reading_month_local',
    sort=['reading_date_local', 'area_id'], dist='area_id'
)) }}

{{ wattlake.group_daily_usage('area_id', 'fct_area_hourly_usage') }}
