-- The history of the meter registry (SCD type 2), rebuilt from the delivered
-- snapshots: one row per meter per version, valid from the date of the snapshot
-- that first showed it until the date of the snapshot that changed it or no
-- longer listed the meter. Rebuilt whole on every run from the landed
-- deliveries, so a historical replay gets the full history and reruns give the
-- same rows (a dbt snapshot would only see the registry as it is when dbt runs).
-- A table: two models read it, and a city year's registry is 318 snapshots.
{{ config(materialized='table') }}

with

meters as (
    select * from {{ ref('stg_registry__meters') }}
),

-- the dated snapshots (deliveries, deliveries_dated, deliveries_ranked,
-- snapshots), then the versions of each meter (in_snapshots, compared,
-- changes_flagged, versions_numbered, versions, final)
{{ wattlake.registry_versions('meters', 'meter_id', [
    'site_id',
    'meter_type',
    'interval_minutes',
    'installed_on',
    'removed_on',
]) }}

select * from final
