-- The history of the site registry (SCD type 2), rebuilt from the delivered
-- snapshots by the macro int_meters_versioned uses (macros/registry_history.sql):
-- one row per site per version of
-- the attributes Wattlake uses. A site registered with the wrong type and
-- corrected later has two versions. The postal address is not versioned.
-- A table: its seven data tests read it, and each query of a city year's
-- registry (318 snapshots) takes 20 to 45 s.
{{ config(materialized='table') }}

with

sites as (
    select * from {{ ref('stg_registry__sites') }}
),

-- the dated snapshots (deliveries, deliveries_dated, deliveries_ranked,
-- snapshots), then the versions of each site (in_snapshots, compared,
-- changes_flagged, versions_numbered, versions, final)
{{ wattlake.registry_versions('sites', 'site_id', [
    'site_name',
    'site_type',
    'area_id',
    'area_name',
    'floor_area_m2',
    'latitude',
    'longitude',
    'time_zone',
]) }}

select * from final
