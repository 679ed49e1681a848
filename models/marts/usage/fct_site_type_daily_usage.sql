{#- One row per site type and local day (macros/group_usage.sql). -#}
{{ config(**wattlake.incremental_by(
    'reading_date_local', athena_key='reading_month_local',
    sort=['reading_date_local', 'site_type'], dist='site_type'
)) }}

{{ wattlake.group_daily_usage('site_type', 'fct_site_type_hourly_usage') }}
