-- One row per meter and local day with readings or quarantined rows: how much
-- of the day clean readings cover, how many intervals are missing (gaps), and
-- how many readings were estimated, late or quarantined.
with

meter_hours as (
    select * from {{ ref('int_readings_rolled_up_to_meter_hour') }}
),

quarantined as (
    select * from {{ ref('int_readings_quarantined') }}
),

meters as (
    select * from {{ ref('int_meters_deduplicated') }}
),

sites as (
    select * from {{ ref('dim_sites') }}
),

-- each meter's site and time zone
meter_zones as (
    select
        meters.meter_id,
        meters.site_id,
        meters.interval_minutes,
        sites.time_zone
    from meters
    inner join sites
        on meters.site_id = sites.site_id
),

clean_days as (
    select
        meter_hours.meter_id,
        meter_hours.reading_date_local,
        sum(meter_hours.interval_count) as clean_intervals,
        sum(meter_hours.minutes_reported) as minutes_reported,
        sum(meter_hours.estimated_count) as estimated_intervals,
        sum(meter_hours.late_count) as late_intervals,
        sum(case when meter_hours.minutes_reported < 60 then 1 else 0 end)
            as incomplete_hours
    from meter_hours
    group by meter_hours.meter_id, meter_hours.reading_date_local
),

-- quarantined readings that name a known meter and a parseable time
quarantined_days as (
    select
        quarantined.meter_id,
        {{ wattlake.local_date(
            'quarantined.reading_start_utc', 'meter_zones.time_zone'
        ) }} as reading_date_local,
        count(*) as quarantined_rows
    from quarantined
    inner join meter_zones
        on quarantined.meter_id = meter_zones.meter_id
    where quarantined.reading_start_utc is not null
    group by
        quarantined.meter_id,
        {{ wattlake.local_date(
            'quarantined.reading_start_utc', 'meter_zones.time_zone'
        ) }}
),

meter_days as (
    select
        coalesce(clean_days.meter_id, quarantined_days.meter_id) as meter_id,
        coalesce(clean_days.reading_date_local, quarantined_days.reading_date_local)
            as reading_date_local,
        coalesce(clean_days.clean_intervals, 0) as clean_intervals,
        coalesce(clean_days.minutes_reported, 0) as minutes_reported,
        coalesce(clean_days.estimated_intervals, 0) as estimated_intervals,
        coalesce(clean_days.late_intervals, 0) as late_intervals,
        coalesce(clean_days.incomplete_hours, 0) as incomplete_hours,
        coalesce(quarantined_days.quarantined_rows, 0) as quarantined_rows
    from clean_days
    full outer join quarantined_days
        on
            clean_days.meter_id = quarantined_days.meter_id
            and clean_days.reading_date_local = quarantined_days.reading_date_local
),

-- the length of each local day: 23 or 25 hours when the clocks change
-- (converted once per time zone and date: per meter-day, the conversions
-- were most of this model's time)
local_days as (
    select distinct
        meter_zones.time_zone,
        meter_days.reading_date_local
    from meter_days
    inner join meter_zones
        on meter_days.meter_id = meter_zones.meter_id
),

day_lengths as (
    select
        local_days.time_zone,
        local_days.reading_date_local,
        {{ dbt.datediff(
            wattlake.local_to_utc('local_days.reading_date_local', 'local_days.time_zone'),
            wattlake.local_to_utc(
                dbt.dateadd('day', 1, 'local_days.reading_date_local'), 'local_days.time_zone'
            ),
            'minute'
        ) }} as minutes_in_day
    from local_days
),

final as (
    select
        meter_days.meter_id,
        meter_zones.site_id,
        meter_days.reading_date_local,
        cast(
            day_lengths.minutes_in_day / meter_zones.interval_minutes
            as {{ dbt.type_int() }}
        ) as expected_intervals,
        cast(meter_days.clean_intervals as {{ dbt.type_int() }}) as clean_intervals,
        cast(
            greatest(
                day_lengths.minutes_in_day - meter_days.minutes_reported, 0
            ) / meter_zones.interval_minutes as {{ dbt.type_int() }}
        ) as missing_intervals,
        cast(meter_days.incomplete_hours as {{ dbt.type_int() }}) as incomplete_hours,
        100.0 * meter_days.minutes_reported / day_lengths.minutes_in_day
            as coverage_pct,
        cast(meter_days.estimated_intervals as {{ dbt.type_int() }})
            as estimated_intervals,
        cast(meter_days.late_intervals as {{ dbt.type_int() }}) as late_intervals,
        100.0 * meter_days.late_intervals
        / nullif(meter_days.clean_intervals, 0) as late_share_pct,
        cast(meter_days.quarantined_rows as {{ dbt.type_int() }}) as quarantined_rows
    from meter_days
    inner join meter_zones
        on meter_days.meter_id = meter_zones.meter_id
    inner join day_lengths
        on
            meter_zones.time_zone = day_lengths.time_zone
            and meter_days.reading_date_local = day_lengths.reading_date_local
)

select * from final
