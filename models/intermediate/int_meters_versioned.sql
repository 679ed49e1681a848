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

-- deliveries, deliveries_dated, deliveries_ranked, snapshots: the dated snapshots
{{ wattlake.registry_snapshots('meters') }}

meters_in_snapshots as (
    select
        meters.meter_id,
        meters.site_id,
        meters.meter_type,
        meters.interval_minutes,
        meters.installed_on,
        meters.removed_on,
        meters.batch_id,
        snapshots.snapshot_date,
        snapshots.snapshot_number,
        -- a snapshot listing a meter twice: its later line wins
        row_number() over (
            partition by meters.batch_id, meters.meter_id
            order by meters.source_line desc
        ) as rank_within_snapshot
    from meters
    inner join snapshots
        on meters.batch_id = snapshots.batch_id
    where meters.meter_id is not null
),

compared as (
    select
        meters_in_snapshots.meter_id,
        meters_in_snapshots.site_id,
        meters_in_snapshots.meter_type,
        meters_in_snapshots.interval_minutes,
        meters_in_snapshots.installed_on,
        meters_in_snapshots.removed_on,
        meters_in_snapshots.batch_id,
        meters_in_snapshots.snapshot_date,
        meters_in_snapshots.snapshot_number,
        {{ wattlake.attributes_fingerprint([
            'meters_in_snapshots.site_id',
            'meters_in_snapshots.meter_type',
            'meters_in_snapshots.interval_minutes',
            'meters_in_snapshots.installed_on',
            'meters_in_snapshots.removed_on',
        ]) }} as attributes
    from meters_in_snapshots
    where meters_in_snapshots.rank_within_snapshot = 1
),

changes_flagged as (
    select
        compared.meter_id,
        compared.site_id,
        compared.meter_type,
        compared.interval_minutes,
        compared.installed_on,
        compared.removed_on,
        compared.batch_id,
        compared.snapshot_date,
        compared.snapshot_number,
        -- a new version: first seen, back after missing from a snapshot, or changed
        case
            when
                lag(compared.snapshot_number) over (
                    partition by compared.meter_id
                    order by compared.snapshot_number
                ) = compared.snapshot_number - 1
                and lag(compared.attributes) over (
                    partition by compared.meter_id
                    order by compared.snapshot_number
                ) = compared.attributes
                then 0
            else 1
        end as starts_version
    from compared
),

versions_numbered as (
    select
        changes_flagged.meter_id,
        changes_flagged.site_id,
        changes_flagged.meter_type,
        changes_flagged.interval_minutes,
        changes_flagged.installed_on,
        changes_flagged.removed_on,
        changes_flagged.batch_id,
        changes_flagged.snapshot_date,
        changes_flagged.snapshot_number,
        changes_flagged.starts_version,
        sum(changes_flagged.starts_version) over (
            partition by changes_flagged.meter_id
            order by changes_flagged.snapshot_number
            rows between unbounded preceding and current row
        ) as version_number
    from changes_flagged
),

versions as (
    select
        versions_numbered.meter_id,
        versions_numbered.version_number,
        min(versions_numbered.snapshot_number) as first_snapshot_number,
        max(versions_numbered.snapshot_number) as last_snapshot_number
    from versions_numbered
    group by versions_numbered.meter_id, versions_numbered.version_number
),

final as (
    select
        versions.meter_id,
        cast(versions.version_number as {{ dbt.type_int() }}) as version_number,
        first_rows.site_id,
        first_rows.meter_type,
        first_rows.interval_minutes,
        first_rows.installed_on,
        first_rows.removed_on,
        first_rows.snapshot_date as valid_from,
        -- the next snapshot changed the meter or no longer listed it
        last_snapshots.next_snapshot_date as valid_to,
        last_snapshots.next_snapshot_date is null as is_current,
        first_rows.batch_id as first_batch_id
    from versions
    inner join versions_numbered as first_rows
        on
            versions.meter_id = first_rows.meter_id
            and versions.first_snapshot_number = first_rows.snapshot_number
    inner join snapshots as last_snapshots
        on versions.last_snapshot_number = last_snapshots.snapshot_number
)

select * from final
