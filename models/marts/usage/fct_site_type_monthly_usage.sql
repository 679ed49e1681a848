{#- One row per site type and local month (macros/group_usage.sql). -#}
{{ config(**wattlake.incremental_by(
    'reading_month_local', sort=['reading_month_local', 'site_type'], dist='site_type'
)) }}

{{ wattlake.group_monthly_usage('site_type', 'fct_site_type_daily_usage') }}
