-- One row per meter per registry version (SCD type 2). Join a reading to the
-- version in force on its date: valid_from <= date and (valid_to is null or
-- date < valid_to); the current version has is_current = true.
with

meter_versions as (
    select * from {{ ref('int_meters_versioned') }}
),

final as (
    select
        meter_versions.meter_id,
        meter_versions.valid_from,
        meter_versions.valid_to,
        meter_versions.is_current,
        meter_versions.version_number,
        meter_versions.site_id,
        meter_versions.meter_type,
        meter_versions.interval_minutes,
        meter_versions.installed_on,
        meter_versions.removed_on,
        meter_versions.first_batch_id,
        meter_versions.removed_on is null as is_in_service
    from meter_versions
)

select * from final
