{#- One row per site type, UTC clock hour and local date (macros/group_usage.sql). -#}
{{ config(**wattlake.incremental_by(
    'reading_date', sort=['reading_date', 'site_type'], dist='site_type'
)) }}

{{ wattlake.group_hourly_usage('site_type') }}
