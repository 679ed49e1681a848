-- Every landed reading with the reason it cannot be used (null when it can) and,
-- among usable readings of the same meter and interval, a duplicate rank:
-- the latest received copy wins (then the higher batch id, then the later line),
-- so a corrected re-delivery replaces the reading it corrects.
with

readings as (
    select * from {{ ref('stg_metering__readings') }}
),

meters as (
    select * from {{ ref('int_meters_deduplicated') }}
),

sites as (
    select * from {{ ref('int_sites_deduplicated') }}
),

checked as (
    select
        readings.meter_id,
        readings.reading_start_utc,
        cast(readings.reading_start_utc as date) as reading_date,
        readings.interval_minutes,
        readings.energy_kwh,
        readings.quality_code,
        readings.batch_id,
        readings.source_file,
        readings.source_line,
        readings.received_at_utc,
        readings.reading_start_as_delivered,
        readings.value_as_delivered,
        readings.unit_as_delivered,
        readings.raw_line,
        readings.parse_error,
        case
            when readings.parse_error is not null then 'unparseable_line'
            when readings.meter_id is null then 'missing_meter_id'
            when readings.reading_start_utc is null then 'unparseable_timestamp'
            when
                readings.interval_minutes is null
                or readings.interval_minutes not in (5, 10, 15, 30, 60)
                then 'invalid_interval'
            when
                readings.unit_as_delivered is null
                or trim(readings.unit_as_delivered) not in ('kWh', 'Wh', 'kW')
                then 'unknown_unit'
            when readings.energy_kwh is null then 'unparseable_value'
            when meters.meter_id is null then 'unknown_meter'
            -- a net meter's negative reading is an export; on any other it is a fault
            when
                readings.energy_kwh < 0 and meters.meter_type <> 'net'
                then 'negative_energy'
            when sites.site_id is null then 'unknown_site'
            when sites.time_zone is null then 'unknown_time_zone'
        end as quarantine_reason
    from readings
    left join meters
        on readings.meter_id = meters.meter_id
    left join sites
        on meters.site_id = sites.site_id
),

ranked as (
    select
        checked.meter_id,
        checked.reading_start_utc,
        checked.reading_date,
        checked.interval_minutes,
        checked.energy_kwh,
        checked.quality_code,
        checked.batch_id,
        checked.source_file,
        checked.source_line,
        checked.received_at_utc,
        checked.reading_start_as_delivered,
        checked.value_as_delivered,
        checked.unit_as_delivered,
        checked.raw_line,
        checked.parse_error,
        checked.quarantine_reason,
        -- reading_date is implied by reading_start_utc; partitioning by it too
        -- lets a filter on dates reach the rows before the window is computed
        row_number() over (
            partition by
                checked.meter_id,
                checked.reading_date,
                checked.reading_start_utc,
                checked.quarantine_reason
            order by
                checked.received_at_utc desc,
                checked.batch_id desc,
                checked.source_line desc
        ) as rank_among_copies
    from checked
),

final as (
    select
        ranked.meter_id,
        ranked.reading_start_utc,
        ranked.reading_date,
        ranked.interval_minutes,
        ranked.energy_kwh,
        ranked.quality_code,
        ranked.batch_id,
        ranked.source_file,
        ranked.source_line,
        ranked.received_at_utc,
        ranked.reading_start_as_delivered,
        ranked.value_as_delivered,
        ranked.unit_as_delivered,
        ranked.raw_line,
        ranked.parse_error,
        ranked.quarantine_reason,
        case
            when ranked.quarantine_reason is null then ranked.rank_among_copies
        end as duplicate_rank
    from ranked
)

select * from final
