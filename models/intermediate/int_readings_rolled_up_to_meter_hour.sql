{#- Clean readings rolled up to meter and clock hour (UTC), tagged with the
    site's local date and the local wall-clock time the hour starts at. A UTC
    hour that straddles local midnight (half-hour time zones) is split between
    its two local dates. Counts of estimated and late readings ride along for
    the data-quality marts.

    Incremental by UTC reading date, like the clean readings it reads
    (macros/incremental_by.sql). -#}
{{ config(**wattlake.incremental_by(
    'reading_date', sort=['reading_date', 'site_id'], dist='site_id'
)) }}

with

cleaned as {{ wattlake.not_materialized() }} (
    select * from {{ ref('int_readings_cleaned') }}
),

meters as (
    select * from {{ ref('int_meters_deduplicated') }}
),

sites as (
    select * from {{ ref('int_sites_deduplicated') }}
),

located as {{ wattlake.not_materialized() }} (
    select
        cleaned.meter_id,
        meters.site_id,
        sites.area_id,
        sites.time_zone,
        cleaned.reading_start_utc,
        cleaned.interval_minutes,
        cleaned.energy_kwh,
        cleaned.is_estimated,
        cleaned.is_late,
        cleaned.reading_date
    from cleaned
    inner join meters
        on cleaned.meter_id = meters.meter_id
    inner join sites
        on meters.site_id = sites.site_id
    where {{ wattlake.restated_rows(
        ref('int_readings_cleaned'), 'reading_date', alias='cleaned'
    ) }}
),

-- Time zones are converted once per distinct (zone, interval start), not per
-- reading: a city year has 35,040 interval starts and 350 million readings.
instants as (
    select distinct
        located.time_zone,
        located.reading_start_utc
    from located
),

localized_instants as (
    select
        instants.time_zone,
        instants.reading_start_utc,
        {{ dbt.date_trunc('hour', 'instants.reading_start_utc') }} as hour_start_utc,
        {{ wattlake.local_date('instants.reading_start_utc', 'instants.time_zone') }}
            as reading_date_local,
        {{ wattlake.local_timestamp(
            dbt.date_trunc('hour', 'instants.reading_start_utc'), 'instants.time_zone'
        ) }} as hour_start_local
    from instants
),

-- grouped by meter, hour and dates only: the site, the area and the local
-- hour follow from the meter and the UTC hour (max() just carries them),
-- and fewer grouping columns make the city year's 88 million groups cheaper
final as (
    select
        located.meter_id,
        max(located.site_id) as site_id,
        max(located.area_id) as area_id,
        localized_instants.hour_start_utc,
        max(localized_instants.hour_start_local) as hour_start_local,
        localized_instants.reading_date_local,
        sum(located.energy_kwh) as energy_kwh,
        cast(count(*) as {{ dbt.type_int() }}) as interval_count,
        cast(sum(located.interval_minutes) as {{ dbt.type_int() }}) as minutes_reported,
        cast(
            sum(case when located.is_estimated then 1 else 0 end)
            as {{ dbt.type_int() }}
        ) as estimated_count,
        cast(sum(case when located.is_late then 1 else 0 end) as {{ dbt.type_int() }})
            as late_count,
        {{ wattlake.run_timestamp() }} as restated_at_utc,
        -- the partition column goes last (Athena requires it)
        located.reading_date
    from located
    inner join localized_instants
        on
            located.time_zone = localized_instants.time_zone
            and located.reading_start_utc = localized_instants.reading_start_utc
    group by
        located.meter_id,
        localized_instants.hour_start_utc,
        localized_instants.reading_date_local,
        located.reading_date
)

select * from final
