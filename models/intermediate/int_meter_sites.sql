{#- Each meter version with its site's type, area, floor area and time zone:
    what the Spark feature job needs beside the clean readings (local time,
    peers, the area's weather). Published to the lake at clean/meter_sites/.
    A reading belongs to the version in force on its date (valid_from <= date
    < valid_to); readings before a meter's first snapshot take version 1. -#}
{{ config(**wattlake.table_in_lake('clean/meter_sites')) }}

with

meter_versions as (
    select * from {{ ref('int_meters_versioned') }}
),

sites as (
    select * from {{ ref('int_sites_deduplicated') }}
),

final as (
    select
        meter_versions.meter_id,
        meter_versions.version_number,
        meter_versions.valid_from,
        meter_versions.valid_to,
        meter_versions.site_id,
        meter_versions.meter_type,
        meter_versions.interval_minutes,
        sites.site_type,
        sites.area_id,
        sites.floor_area_m2,
        sites.time_zone
    from meter_versions
    -- a meter on a site the registry does not list: its readings are
    -- quarantined (unknown_site), so it has no features either
    inner join sites
        on meter_versions.site_id = sites.site_id
)

select * from final
