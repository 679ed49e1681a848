{#- One row per area, UTC clock hour and local date (macros/group_usage.sql). -#}
{{ config(**wattlake.incremental_by(
    'reading_date', sort=['reading_date', 'area_id'], dist='area_id'
)) }}

{{ wattlake.group_hourly_usage('area_id') }}
