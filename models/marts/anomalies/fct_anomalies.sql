{#- Anomaly events: runs of flagged hours (or days) of one kind on one meter
    (int_anomaly_flags), one row per event, with what was expected, what was
    observed, the excess and its cost, a severity and a one-line explanation.
    Runs shorter than the kind's minimum (wattlake_anomaly_rules) are left out;
    a run of days may skip day_gap_days (holidays are not judged).
    A run of unusual days (level_change) is a drift when it is above expected
    and keeps rising across its days (the least-squares slope of its day
    ratios is at least drift_slope_per_day) and lasts less than
    drift_max_days; otherwise a level shift. A home's run (home_level_change)
    is a level shift when it spans home_shift_min_days: a shorter one cannot
    be told from a home's ordinary weeks; a home's run of high night base
    loads (home_night_load) is a night load when it holds
    home_night_min_days nights; its run of days with a raised base by day
    and night (home_drift: a failing appliance) is a drift unless its base
    ratios fall across the run (slope below home_drift_min_slope): a base
    that stepped up, which the usual of the days before catches up with. -#}
{%- set rules = var('wattlake_anomaly_rules') %}

with

flags as (
    select * from {{ ref('int_anomaly_flags') }}
),

site_costs as (
    select * from {{ ref('fct_site_daily_cost') }}
),

clock_skews as (
    select * from {{ ref('int_clock_skews') }}
),

sequenced as (
    select
        flags.*,
        case
            when
                flags.period_index - lag(flags.period_index) over (
                    partition by flags.meter_id, flags.anomaly_type
                    order by flags.period_index
                ) <= case
                    when flags.period_grain = 'day' then 1 + {{ rules['day_gap_days'] }}
                    when
                        flags.anomaly_type = 'dip'
                        then 1 + {{ rules['dip_gap_hours'] }}
                    else 1
                end
                then 0
            else 1
        end as starts_event
    from flags
),

numbered as (
    select
        sequenced.*,
        sum(sequenced.starts_event) over (
            partition by sequenced.meter_id, sequenced.anomaly_type
            order by sequenced.period_index
            rows between unbounded preceding and current row
        ) as event_number,
        cast(sequenced.period_index as {{ wattlake.type_double() }}) as x
    from sequenced
),

runs as (
    select
        numbered.meter_id,
        numbered.anomaly_type as flag_type,
        numbered.event_number,
        max(numbered.site_id) as site_id,
        max(numbered.site_type) as site_type,
        max(numbered.area_id) as area_id,
        max(numbered.period_grain) as period_grain,
        min(numbered.period_start_utc) as start_utc,
        max(numbered.period_end_utc) as end_utc,
        count(*) as period_count,
        sum(numbered.observed_kwh) as observed_kwh,
        sum(numbered.expected_kwh) as expected_kwh,
        max(numbered.score) as max_score,
        min(numbered.score) as min_score,
        -- sums for the least-squares slope of the score over the periods
        sum(numbered.x) as sum_x,
        sum(numbered.score) as sum_y,
        sum(numbered.x * numbered.x) as sum_xx,
        sum(numbered.x * numbered.score) as sum_xy
    from numbered
    group by numbered.meter_id, numbered.anomaly_type, numbered.event_number
),

shaped as (
    select
        runs.*,
        (runs.period_count * runs.sum_xy - runs.sum_x * runs.sum_y)
        / nullif(
            runs.period_count * runs.sum_xx - runs.sum_x * runs.sum_x, 0
        ) as score_slope,
        {{ dbt.datediff(
            'runs.start_utc', 'runs.end_utc', 'day'
        ) }} as span_days
    from runs
),

classified as (
    select
        shaped.*,
        case
            when shaped.flag_type = 'home_level_change' then 'level_shift'
            when shaped.flag_type = 'home_night_load' then 'night_load'
            when shaped.flag_type = 'home_drift' then 'drift'
            when shaped.flag_type <> 'level_change' then shaped.flag_type
            -- above expected and still rising across the run
            when
                shaped.max_score > 1
                and shaped.score_slope >= {{ rules['drift_slope_per_day'] }}
                and shaped.span_days < {{ rules['drift_max_days'] }}
                then 'drift'
            else 'level_shift'
        end as anomaly_type
    from shaped
),

-- low hours that come back day after day are a schedule (a school
-- holiday, a closure), not a dip: a dip with another dip on the same meter
-- less than dip_recurs_within_hours before or after it is left out
neighbours as (
    select
        classified.*,
        lag(classified.end_utc) over (
            partition by classified.meter_id, classified.anomaly_type
            order by classified.start_utc
        ) as previous_end_utc,
        lead(classified.start_utc) over (
            partition by classified.meter_id, classified.anomaly_type
            order by classified.start_utc
        ) as next_start_utc
    from classified
),

spaced as (
    select
        neighbours.*,
        {{ dbt.datediff(
            'neighbours.previous_end_utc', 'neighbours.start_utc', 'hour'
        ) }} as hours_since_previous,
        {{ dbt.datediff(
            'neighbours.end_utc', 'neighbours.next_start_utc', 'hour'
        ) }} as hours_to_next
    from neighbours
),

kept as (
    select spaced.*
    from spaced
    where
        (
            spaced.anomaly_type <> 'dip'
            or (
                coalesce(spaced.hours_since_previous, 1000)
                >= {{ rules['dip_recurs_within_hours'] }}
                and coalesce(spaced.hours_to_next, 1000)
                >= {{ rules['dip_recurs_within_hours'] }}
            )
        )
        and
        case spaced.anomaly_type
            when 'zero_run' then spaced.period_count >= {{ rules['zero_min_hours'] }}
            when 'stuck' then spaced.period_count >= {{ rules['stuck_min_hours'] }}
            when
                'dip'
                then
                    spaced.period_count >= {{ rules['dip_min_hours'] }}
                    and spaced.period_count <= {{ rules['dip_max_hours'] }}
            when
                'night_load'
                then
                    spaced.period_count >= {{ rules['night_min_days'] }}
                    and (
                        spaced.flag_type <> 'home_night_load'
                        or spaced.period_count >= {{ rules['home_night_min_days'] }}
                    )
            when
                'level_shift'
                then
                    spaced.period_count >= {{ rules['level_shift_min_days'] }}
                    and (
                        spaced.flag_type <> 'home_level_change'
                        or spaced.span_days >= {{ rules['home_shift_min_days'] }}
                    )
            when
                'drift'
                then
                    spaced.period_count >= {{ rules['drift_min_days'] }}
                    -- a home's failing appliance keeps growing; a base that
                    -- stepped up (heating on, a home back from a quieter
                    -- spell) falls against a usual that catches up with it
                    and (
                        spaced.flag_type <> 'home_drift'
                        or spaced.score_slope >= {{ rules['home_drift_min_slope'] }}
                    )
            else true
        end
),

-- a level shift that adapts into the expected profile (after about four
-- weeks) shows its end as a change the other way, for as many weeks as the
-- profile takes to learn the old level again: a run of days the other way
-- (a level shift, or on other sites a rise its weekdays show as a drift)
-- less than level_shift_max_days after a shift's start is its return. The
-- return is no event: the first one closes the shift.
level_changes as (
    select
        kept.meter_id,
        kept.flag_type,
        kept.event_number,
        kept.anomaly_type,
        kept.start_utc,
        kept.max_score > 1 as is_up
    from kept
    where kept.flag_type in ('level_change', 'home_level_change')
),

-- the shifts that are no return themselves
shifts as (
    select level_changes.*
    from level_changes
    where
        level_changes.anomaly_type = 'level_shift'
        and not exists (
            select 1
            from level_changes as earlier
            where
                earlier.meter_id = level_changes.meter_id
                and earlier.anomaly_type = 'level_shift'
                and earlier.is_up <> level_changes.is_up
                and earlier.start_utc < level_changes.start_utc
                and {{ dbt.datediff(
                    'earlier.start_utc', 'level_changes.start_utc', 'day'
                ) }}
                <= {{ rules['level_shift_max_days'] }}
        )
),

-- each return, with the start of the latest shift it returns from
returns as (
    select
        level_changes.meter_id,
        level_changes.flag_type,
        level_changes.event_number,
        level_changes.start_utc,
        max(shifts.start_utc) as shift_start_utc
    from level_changes
    inner join shifts
        on
            level_changes.meter_id = shifts.meter_id
            and level_changes.is_up <> shifts.is_up
            and level_changes.start_utc > shifts.start_utc
            and {{ dbt.datediff(
                'shifts.start_utc', 'level_changes.start_utc', 'day'
            ) }}
            <= {{ rules['level_shift_max_days'] }}
    group by
        level_changes.meter_id,
        level_changes.flag_type,
        level_changes.event_number,
        level_changes.start_utc
),

-- a shift ends where its first return starts
shift_ends as (
    select
        returns.meter_id,
        returns.shift_start_utc,
        min(returns.start_utc) as end_utc
    from returns
    group by returns.meter_id, returns.shift_start_utc
),

closed as (
    select
        kept.meter_id,
        kept.site_id,
        kept.site_type,
        kept.area_id,
        kept.anomaly_type,
        kept.start_utc,
        kept.period_count,
        kept.observed_kwh,
        kept.expected_kwh,
        kept.max_score,
        coalesce(shift_ends.end_utc, kept.end_utc) as end_utc
    from kept
    left join shift_ends
        on
            kept.anomaly_type = 'level_shift'
            and kept.meter_id = shift_ends.meter_id
            and kept.start_utc = shift_ends.shift_start_utc
    where not exists (
            select 1
            from returns as dropped
            where
                dropped.meter_id = kept.meter_id
                and dropped.flag_type = kept.flag_type
                and dropped.event_number = kept.event_number
        )
),

-- the events of the flags, and the clock skews (found as events already)
events as (
    select * from closed
    union all
    select
        clock_skews.meter_id,
        clock_skews.site_id,
        clock_skews.site_type,
        clock_skews.area_id,
        'clock_skew' as anomaly_type,
        clock_skews.start_utc,
        {{ dbt.datediff('clock_skews.start_utc', 'clock_skews.end_utc', 'hour') }}
            as period_count,
        cast(null as {{ wattlake.type_double() }}) as observed_kwh,
        cast(null as {{ wattlake.type_double() }}) as expected_kwh,
        cast(clock_skews.skew_minutes as {{ wattlake.type_double() }}) as max_score,
        clock_skews.end_utc
    from clock_skews
),

-- what a kWh costs the site: its energy and tiered charges over its imported kWh
site_rates as (
    select
        site_costs.site_id,
        sum(site_costs.energy_charge_gbp + site_costs.tiered_charge_gbp)
        / nullif(sum(site_costs.imported_kwh), 0) as gbp_per_kwh
    from site_costs
    group by site_costs.site_id
),

timed as (
    select
        events.*,
        events.observed_kwh - events.expected_kwh as excess_kwh,
        {{ dbt.datediff(
            'events.start_utc', 'events.end_utc', 'minute'
        ) }} / 60.0 as duration_hours,
        site_rates.gbp_per_kwh
    from events
    left join site_rates
        on events.site_id = site_rates.site_id
),

-- the numbers the explanation quotes, as text
{%- set text = dbt.type_string() %}
{%- set whole = dbt.type_int() %}
measured as (
    select
        timed.*,
        cast(round(timed.duration_hours, 1) as {{ text }}) as hours_text,
        cast(timed.period_count as {{ text }}) as periods_text,
        cast(round(timed.max_score, 1) as {{ text }}) as max_score_text,
        cast(cast(abs(timed.max_score) as {{ whole }}) as {{ text }})
        || case when timed.max_score > 0 then ' min ahead' else ' min behind' end
            as skew_text,
        cast(cast(round(100 * timed.max_score) as {{ whole }}) as {{ text }})
            as max_percent_text,
        cast(
            cast(
                round(100 * timed.observed_kwh / nullif(timed.expected_kwh, 0))
                as {{ whole }}
            ) as {{ text }}
        ) as percent_text
    from timed
),

final as (
    select
        {{ wattlake.text_key([
            'measured.meter_id', 'measured.anomaly_type', 'measured.start_utc'
        ]) }} as anomaly_id,
        measured.meter_id,
        measured.site_id,
        measured.site_type,
        measured.area_id,
        measured.anomaly_type,
        cast(measured.start_utc as {{ dbt.type_timestamp() }}) as start_utc,
        cast(measured.end_utc as {{ dbt.type_timestamp() }}) as end_utc,
        measured.duration_hours,
        case
            when
                measured.anomaly_type in ('negative', 'stuck', 'zero_run')
                and measured.duration_hours >= 24
                then 'high'
            when
                measured.anomaly_type in ('negative', 'stuck', 'zero_run', 'clock_skew')
                then 'medium'
            when abs(measured.excess_kwh) >= measured.expected_kwh then 'high'
            when abs(measured.excess_kwh) >= 0.3 * measured.expected_kwh then 'medium'
            else 'low'
        end as severity,
        measured.expected_kwh,
        measured.observed_kwh,
        measured.excess_kwh,
        measured.excess_kwh * measured.gbp_per_kwh as excess_cost_gbp,
        case measured.anomaly_type
            when 'zero_run'
                then
                    'Zero readings for ' || measured.hours_text
                    || ' h: an outage or a failed meter'
            when 'stuck'
                then
                    'The meter repeated one value for ' || measured.hours_text
                    || ' h: a stuck meter'
            when 'spike'
                then
                    'An interval ' || measured.max_score_text
                    || ' times the usual: a short spike'
            when 'dip'
                then
                    'Usage at ' || measured.percent_text
                    || ' % of expected for ' || measured.hours_text || ' h'
            when 'night_load'
                then
                    'Night use at ' || measured.percent_text
                    || ' % of the usual on ' || measured.periods_text
                    || ' nights: something left on'
            when 'drift'
                then
                    case
                        -- a home's drift is judged on its base load (home_drift)
                        when measured.site_type = 'home'
                            then
                                'The base load crept up to '
                                || measured.max_percent_text
                                || ' % of the usual over ' || measured.periods_text
                                || ' days, day and night: an appliance failing'
                        else
                            'Usage crept up to ' || measured.max_percent_text
                            || ' % of expected over ' || measured.periods_text
                            || ' days'
                    end
            when 'level_shift'
                then
                    'Usage at ' || measured.percent_text
                    || ' % of expected for ' || measured.periods_text || ' days'
            when 'clock_skew'
                then
                    'The meter clock ran ' || measured.skew_text
                    || ' for ' || measured.hours_text
                    || ' h: readings in those hours are misplaced in time'
            when 'negative'
                then
                    'Negative readings for ' || measured.hours_text
                    || ' h from a meter that does not export: a faulty meter'
        end as explanation
    from measured
)

select * from final
