-- The history of the site registry (SCD type 2), rebuilt from the delivered
-- snapshots exactly as int_meters_versioned is: one row per site per version of
-- the attributes Wattlake uses. A site registered with the wrong type and
-- corrected later has two versions. The postal address is not versioned.
with

sites as (
    select * from {{ ref('stg_registry__sites') }}
),

-- deliveries, deliveries_dated, deliveries_ranked, snapshots: the dated snapshots
{{ wattlake.registry_snapshots('sites') }}

sites_in_snapshots as (
    select
        sites.site_id,
        sites.site_name,
        sites.site_type,
        sites.area_id,
        sites.area_name,
        sites.floor_area_m2,
        sites.latitude,
        sites.longitude,
        sites.time_zone,
        sites.batch_id,
        snapshots.snapshot_date,
        snapshots.snapshot_number,
        -- a snapshot listing a site twice: its later line wins
        row_number() over (
            partition by sites.batch_id, sites.site_id
            order by sites.source_line desc
        ) as rank_within_snapshot
    from sites
    inner join snapshots
        on sites.batch_id = snapshots.batch_id
    where sites.site_id is not null
),

compared as (
    select
        sites_in_snapshots.site_id,
        sites_in_snapshots.site_name,
        sites_in_snapshots.site_type,
        sites_in_snapshots.area_id,
        sites_in_snapshots.area_name,
        sites_in_snapshots.floor_area_m2,
        sites_in_snapshots.latitude,
        sites_in_snapshots.longitude,
        sites_in_snapshots.time_zone,
        sites_in_snapshots.batch_id,
        sites_in_snapshots.snapshot_date,
        sites_in_snapshots.snapshot_number,
        {{ wattlake.attributes_fingerprint([
            'sites_in_snapshots.site_name',
            'sites_in_snapshots.site_type',
            'sites_in_snapshots.area_id',
            'sites_in_snapshots.area_name',
            'sites_in_snapshots.floor_area_m2',
            'sites_in_snapshots.latitude',
            'sites_in_snapshots.longitude',
            'sites_in_snapshots.time_zone',
        ]) }} as attributes
    from sites_in_snapshots
    where sites_in_snapshots.rank_within_snapshot = 1
),

changes_flagged as (
    select
        compared.site_id,
        compared.site_name,
        compared.site_type,
        compared.area_id,
        compared.area_name,
        compared.floor_area_m2,
        compared.latitude,
        compared.longitude,
        compared.time_zone,
        compared.batch_id,
        compared.snapshot_date,
        compared.snapshot_number,
        -- a new version: first seen, back after missing from a snapshot, or changed
        case
            when
                lag(compared.snapshot_number) over (
                    partition by compared.site_id
                    order by compared.snapshot_number
                ) = compared.snapshot_number - 1
                and lag(compared.attributes) over (
                    partition by compared.site_id
                    order by compared.snapshot_number
                ) = compared.attributes
                then 0
            else 1
        end as starts_version
    from compared
),

versions_numbered as (
    select
        changes_flagged.site_id,
        changes_flagged.site_name,
        changes_flagged.site_type,
        changes_flagged.area_id,
        changes_flagged.area_name,
        changes_flagged.floor_area_m2,
        changes_flagged.latitude,
        changes_flagged.longitude,
        changes_flagged.time_zone,
        changes_flagged.batch_id,
        changes_flagged.snapshot_date,
        changes_flagged.snapshot_number,
        changes_flagged.starts_version,
        sum(changes_flagged.starts_version) over (
            partition by changes_flagged.site_id
            order by changes_flagged.snapshot_number
            rows between unbounded preceding and current row
        ) as version_number
    from changes_flagged
),

versions as (
    select
        versions_numbered.site_id,
        versions_numbered.version_number,
        min(versions_numbered.snapshot_number) as first_snapshot_number,
        max(versions_numbered.snapshot_number) as last_snapshot_number
    from versions_numbered
    group by versions_numbered.site_id, versions_numbered.version_number
),

final as (
    select
        versions.site_id,
        cast(versions.version_number as {{ dbt.type_int() }}) as version_number,
        first_rows.site_name,
        first_rows.site_type,
        first_rows.area_id,
        first_rows.area_name,
        first_rows.floor_area_m2,
        first_rows.latitude,
        first_rows.longitude,
        first_rows.time_zone,
        first_rows.snapshot_date as valid_from,
        -- the next snapshot changed the site or no longer listed it
        last_snapshots.next_snapshot_date as valid_to,
        last_snapshots.next_snapshot_date is null as is_current,
        first_rows.batch_id as first_batch_id
    from versions
    inner join versions_numbered as first_rows
        on
            versions.site_id = first_rows.site_id
            and versions.first_snapshot_number = first_rows.snapshot_number
    inner join snapshots as last_snapshots
        on versions.last_snapshot_number = last_snapshots.snapshot_number
)

select * from final
