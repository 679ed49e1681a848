-- Every tariff puts each local hour of weekdays and of weekends in exactly
-- one time-of-use band: its spans start at 0, end at 24, add up to 24 hours
-- and never overlap. Fails with one row per tariff and kind of day that
-- breaks this (a missing kind of day included).
with

plans as (
    select * from {{ ref('tariff_plans') }}
),

bands as (
    select * from {{ ref('tariff_time_of_use_bands') }}
),

day_kinds as (
    select 'weekday' as day_kind
    union all
    select 'weekend' as day_kind
),

expected as (
    select
        plans.tariff_id,
        day_kinds.day_kind
    from plans
    cross join day_kinds
),

coverage as (
    select
        bands.tariff_id,
        bands.day_kind,
        min(bands.start_hour_local) as first_hour,
        max(bands.end_hour_local) as last_hour,
        sum(bands.end_hour_local - bands.start_hour_local) as hours,
        sum(case when bands.end_hour_local <= bands.start_hour_local then 1 else 0 end)
            as empty_spans
    from bands
    group by bands.tariff_id, bands.day_kind
),

overlapping as (
    select
        first_span.tariff_id,
        first_span.day_kind,
        count(*) as overlapping_pairs
    from bands as first_span
    inner join bands as second_span
        on
            first_span.tariff_id = second_span.tariff_id
            and first_span.day_kind = second_span.day_kind
            and first_span.start_hour_local < second_span.start_hour_local
            and first_span.end_hour_local > second_span.start_hour_local
    group by first_span.tariff_id, first_span.day_kind
),

final as (
    select
        expected.tariff_id,
        expected.day_kind,
        coverage.first_hour,
        coverage.last_hour,
        coverage.hours,
        coverage.empty_spans,
        coalesce(overlapping.overlapping_pairs, 0) as overlapping_pairs
    from expected
    left join coverage
        on
            expected.tariff_id = coverage.tariff_id
            and expected.day_kind = coverage.day_kind
    left join overlapping
        on
            expected.tariff_id = overlapping.tariff_id
            and expected.day_kind = overlapping.day_kind
)

select * from final
where
    hours is null
    or first_hour != 0
    or last_hour != 24
    or hours != 24
    or empty_spans > 0
    or overlapping_pairs > 0
