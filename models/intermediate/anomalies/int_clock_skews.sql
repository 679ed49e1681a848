{#- Meter clocks that ran off for a while (clock skew), as events. A clock
    that jumps ahead leaves a hole in the meter's readings where it jumped
    and, where it jumps back, labels readings with times it already used,
    with other values. Clean readings show the hole (the features' minutes
    per hour); the validated readings (every landed copy) show the doubles. Each hole of 30 or 60
    minutes on a meter is paired with the nearest run of conflicting doubles
    of the same length on the same meter within skew_max_days, when that run
    has no nearer such hole; the event spans both. A hole
    without doubles is a gap in the data, not a skew: it is left out. -#}
{%- set rules = var('wattlake_anomaly_rules') %}
{%- set reach_days = rules['skew_max_days'] + 1 %}

with

features as (
    select * from {{ ref('stg_curated__anomaly_features') }}
),

readings as (
    select * from {{ ref('int_readings_validated') }}
),

hours as (
    select
        features.meter_id,
        features.site_id,
        features.site_type,
        features.area_id,
        features.hour_start_utc,
        features.minutes_reported,
        lead(features.hour_start_utc) over (
            partition by features.meter_id order by features.hour_start_utc
        ) as next_hour_utc
    from features
),

spaced_hours as (
    select
        hours.*,
        coalesce(
            {{ dbt.datediff('hours.hour_start_utc', 'hours.next_hour_utc', 'hour') }}, 1
        ) as hours_to_next
    from hours
),

-- hours short of readings, counting the hours with none before the next
short_hours as (
    select
        spaced_hours.meter_id,
        spaced_hours.site_id,
        spaced_hours.site_type,
        spaced_hours.area_id,
        spaced_hours.hour_start_utc,
        {{ wattlake.periods_since_2000('spaced_hours.hour_start_utc', 'hour') }}
            as hour_index,
        60 - spaced_hours.minutes_reported + 60 * (spaced_hours.hours_to_next - 1)
            as missing_minutes,
        {{ dbt.dateadd(
            'hour', 'spaced_hours.hours_to_next', 'spaced_hours.hour_start_utc'
        ) }} as gap_end_utc
    from spaced_hours
    where spaced_hours.minutes_reported < 60 or spaced_hours.hours_to_next > 1
),

short_runs as (
    select
        short_hours.*,
        short_hours.hour_index - row_number() over (
            partition by short_hours.meter_id order by short_hours.hour_index
        ) as run_key
    from short_hours
),

holes as (
    select
        short_runs.meter_id,
        max(short_runs.site_id) as site_id,
        max(short_runs.site_type) as site_type,
        max(short_runs.area_id) as area_id,
        min(short_runs.hour_start_utc) as hole_start_utc,
        max(short_runs.gap_end_utc) as hole_end_utc,
        sum(short_runs.missing_minutes) as missing_minutes
    from short_runs
    group by short_runs.meter_id, short_runs.run_key
    having sum(short_runs.missing_minutes) in (30, 60)
),

-- interval starts delivered with two different values, near a hole: within
-- skew_max_days of it and a day more (a run of doubles cut at that edge is
-- over a day from every hole, farther than any run that pairs). A reading
-- near two holes joins twice, which neither aggregate minds. Only these
-- readings are grouped: on the city year, 5 million of the 89 million readings
-- of the meters with a hole.
doubles as (
    select
        readings.meter_id,
        readings.reading_start_utc,
        max(readings.interval_minutes) as interval_minutes
    from readings
    inner join holes
        on
            readings.meter_id = holes.meter_id
            and readings.reading_start_utc
            >= {{ dbt.dateadd('day', -reach_days, 'holes.hole_start_utc') }}
            and readings.reading_start_utc
            < {{ dbt.dateadd('day', reach_days, 'holes.hole_end_utc') }}
    where readings.energy_kwh is not null
    group by readings.meter_id, readings.reading_start_utc
    having count(distinct readings.energy_kwh) > 1
),

doubles_in_order as (
    select
        doubles.*,
        lag(doubles.reading_start_utc) over (
            partition by doubles.meter_id order by doubles.reading_start_utc
        ) as previous_start_utc
    from doubles
),

double_steps as (
    select
        doubles_in_order.*,
        case
            when
                {{ dbt.datediff(
                    'doubles_in_order.previous_start_utc',
                    'doubles_in_order.reading_start_utc',
                    'minute'
                ) }} <= doubles_in_order.interval_minutes
                then 0
            else 1
        end as starts_run
    from doubles_in_order
),

double_runs as (
    select
        double_steps.*,
        sum(double_steps.starts_run) over (
            partition by double_steps.meter_id
            order by double_steps.reading_start_utc
            rows between unbounded preceding and current row
        ) as run_number
    from double_steps
),

doubled_spans as (
    select
        double_runs.meter_id,
        min(double_runs.reading_start_utc) as doubles_start_utc,
        sum(double_runs.interval_minutes) as doubled_minutes,
        {{ dbt.dateadd(
            'minute', 'max(double_runs.interval_minutes)', 'max(double_runs.reading_start_utc)'
        ) }} as doubles_end_utc
    from double_runs
    group by double_runs.meter_id, double_runs.run_number
),

-- a hole and a run of doubles pair when each is the other's nearest: one
-- clock jump, one jump back (two holes near one run of doubles make one
-- skew, and the other hole is a gap)
{%- set distance -%}
    abs({{ dbt.datediff(
        'holes.hole_start_utc', 'doubled_spans.doubles_start_utc', 'minute'
    ) }})
{%- endset %}
paired as (
    select
        holes.*,
        doubled_spans.doubles_start_utc,
        doubled_spans.doubles_end_utc,
        row_number() over (
            partition by holes.meter_id, holes.hole_start_utc
            order by {{ distance }}, doubled_spans.doubles_start_utc
        ) as nearness,
        row_number() over (
            partition by doubled_spans.meter_id, doubled_spans.doubles_start_utc
            order by {{ distance }}, holes.hole_start_utc
        ) as doubles_nearness
    from holes
    inner join doubled_spans
        on
            holes.meter_id = doubled_spans.meter_id
            -- the clock jumped by as much as it jumped back
            and holes.missing_minutes = doubled_spans.doubled_minutes
            and doubled_spans.doubles_start_utc
            < {{ dbt.dateadd('day', rules['skew_max_days'], 'holes.hole_end_utc') }}
            and doubled_spans.doubles_end_utc
            > {{ dbt.dateadd('day', -rules['skew_max_days'], 'holes.hole_start_utc') }}
),

final as (
    select
        paired.meter_id,
        paired.site_id,
        paired.site_type,
        paired.area_id,
        case
            when paired.hole_start_utc < paired.doubles_start_utc
                then paired.hole_start_utc
            else paired.doubles_start_utc
        end as start_utc,
        case
            when paired.hole_end_utc > paired.doubles_end_utc
                then paired.hole_end_utc
            else paired.doubles_end_utc
        end as end_utc,
        -- the clock ran ahead when the hole comes first
        case
            when paired.hole_start_utc < paired.doubles_start_utc
                then paired.missing_minutes
            else -paired.missing_minutes
        end as skew_minutes
    from paired
    where paired.nearness = 1 and paired.doubles_nearness = 1
)

select * from final
