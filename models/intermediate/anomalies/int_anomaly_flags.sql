{#- The meter-hours and meter-days the Spark job's features flag as unusual,
    one row per meter, flagged period and kind, by the rules of the
    wattlake_anomaly_rules var (dbt_project.yml):
      zero_run    the hour holds two or more zero readings, and the meter
                  usually reads more at that hour;
      stuck       the hour's readings all repeat one non-zero value;
      spike       the hour's largest interval is far above the meter's mean
                  interval (not on homes: kettles and car chargers do that);
      dip         the hour is at or below a small share of its expected kWh
                  (not on homes, whose hourly use swings that much); on a
                  public holiday or a day the site's peers all moved (a
                  school term), of its expected kWh times the peers' day
                  ratio (a holiday with no peers to tell is not judged);
      night_load  the night (00:00-06:00 local) is far above its expected kWh,
                  and most of the day's excess is at night (the day's
                  expected kWh times the peers' day ratio when they all
                  moved: in a school holiday the profile holds term weeks);
      level_change
                  the day is far above or below its expected kWh (the same
                  weekday's median); the event model tells a drift (a rise
                  across the run) from a level shift;
      home_level_change
                  homes only: each whole day's log kWh less the mean of
                  the area's other homes that day (the weather and the
                  calendar cancel out); the mean of the last 14 such days
                  is a factor far from the mean of the 28 before them,
                  measured in the home's own day-to-day spread within the
                  two windows, pooled (a two-sample z-score: a shift between
                  them is no spread). A home's single days swing too much to
                  judge alone; a lasting change shows in the fortnight. A
                  net meter's day is use less the sun: its base before dawn
                  (00:00-04:00 local) and its evening's (20:00-22:00), out
                  of the sun, are judged so instead, and both must move the
                  same way (a night load moves one).
      home_night_load
                  homes only: the night's base load (its smallest interval,
                  00:00-06:00 local) is far above its mean over the 28
                  nights before, by a share of the home's mean interval
                  (a cool summer night that starts the heating lifts a
                  small base by a large ratio, not by much energy).
                  Something left on adds a steady load that
                  lifts the base; a home's ordinary night swings (a late
                  film, a dishwasher) move its sum, not its base. A night
                  whose day's base rose as far is not a night load: the
                  load runs all day (a failing appliance, or a home using
                  more of everything). Net meters are not judged: before
                  06:00 the summer sun already offsets their use.
      home_drift
                  homes only: the base load by night (the smallest interval
                  00:00-06:00 local) and the whole day's are far above
                  their means over the 28 days before, the base by day
                  (08:00-20:00) rose by a good share as much, the whole
                  day's base by a share of the home's mean interval, and
                  over the last 7 days the home's mean interval rose by at
                  most a few times its base: a failing appliance adds a
                  load of its own, day and night, and the home's use rises
                  by that load; a home that uses more of everything (a
                  level shift) raises its mean by a multiple of its base's
                  rise. A smaller load (home_drift_creep_excess_share)
                  counts without the mean when the base crept up day after
                  day over the last home_drift_creep_days days (its
                  correlation with the date): a holiday at home swings the
                  mean, not the base that way. Such days count as neither
                  a night load nor a level change. A net meter's day is
                  use less the sun: its drift is its base before dawn
                  (00:00-04:00 local) far above the 28 days before times
                  the factor by which the area's other homes' rose that day
                  (warm nights), with its evening base (20:00-22:00, out
                  of the sun and before a night load) risen beyond its
                  peers' by a good share as much, and at most a few times
                  as much (a home using more of everything lifts a busy
                  evening by a multiple).
    The day rules skip a day a meter fault explains (zeros, a repeated
    value). level_change and night_load skip homes and public holidays (a
    closed office is not an anomaly); on a day its peers moved far together
    (a school holiday, a term starting: the calendar), level_change takes
    the day against the peers' day ratio, as always, but counts only a far
    change (calendar_day_high, calendar_day_low): a site follows the
    calendar only roughly.
    Periods are indexed (hours or days since 2000-01-01) for the islands of
    fct_anomalies. -#}
{%- set rules = var('wattlake_anomaly_rules') %}
{#- what the calendar did to the site's expected hour that day: its peers'
    day ratio on a public holiday or a day they all moved (a school term);
    null (not judged) on a holiday with no peers to tell; else nothing -#}
{%- set calendar_factor -%}
    case
        when
            features.peer_site_count >= {{ rules['peer_min_sites'] }}
            and features.peer_day_ratio > 0
            and (
                calendar.is_public_holiday
                or abs(features.peer_day_ratio - 1) >= {{ rules['peer_shift'] }}
            )
            then features.peer_day_ratio
        when
            calendar.is_public_holiday
            and coalesce(features.peer_site_count, 0) < {{ rules['peer_min_sites'] }}
            then null
        else 1
    end
{%- endset %}
{#- the hours (local) whose kWh and base load (smallest interval) the rules
    judge: the night's (a night load); the day's (a load running all day);
    a net meter's night before dawn, which no season's sun reaches, and its
    evening, out of the sun and before a night load starts (22:00) -#}
{%- set base_windows = {
    'night': '< 6',
    'daytime': 'between 8 and 19',
    'predawn': '< 4',
    'evening': 'between 20 and 21',
} %}
{#- a net meter's windows out of the sun (see base_windows), each judged
    when all its hours are whole and fault-free -#}
{%- set dark_windows = {'predawn': 4, 'evening': 2} %}
{#- the series a home's level change is judged on, each a log against the
    area's other homes: the whole day's kWh; a net meter's (its day is use
    less the sun) base before dawn and in the evening, out of the sun -#}
{%- set level_series = ['day'] + (dark_windows | list) %}
{#- a net meter's base before dawn or in the evening (WINDOW) as the days
    before had it, times what the weather did to its peers' that day -#}
{%- set expected_dark_base -%}
    home_windows.usual_WINDOW_min_interval_kwh * case
        when home_peer_dark_bases.home_count >= {{ rules['peer_min_sites'] }}
            then exp(home_peer_dark_bases.WINDOW_log_ratio)
        else 1
    end
{%- endset %}
{#- a home's last 7 days, this one included -#}
{%- set last_7_days -%}
    partition by home_windows.meter_id order by home_windows.local_date
    rows between 6 preceding and current row
{%- endset %}
{#- a home's last home_drift_creep_days days, this one included, and the
    sums for the correlation of its whole day's base with the date over them
    (no corr() on Redshift) -#}
{%- set last_creep_days -%}
    partition by home_windows.meter_id order by home_windows.local_date
    rows between {{ rules['home_drift_creep_days'] - 1 }} preceding and current row
{%- endset %}
{%- set creep_x = wattlake.periods_since_2000('home_windows.local_date', 'day') %}
{%- set creep_y = 'home_windows.judged_min_interval_kwh' %}
{%- set creep_terms = {
    'n': '1',
    'x': creep_x,
    'y': creep_y,
    'xx': creep_x ~ ' * ' ~ creep_x,
    'yy': creep_y ~ ' * ' ~ creep_y,
    'xy': creep_x ~ ' * ' ~ creep_y,
} %}
{#- what the calendar did to the site's expected day: its peers' day ratio
    when they all moved (a school holiday), else nothing -#}
{%- set calendar_day_factor -%}
    case
        when
            days.peer_site_count >= {{ rules['peer_min_sites'] }}
            and days.peer_day_ratio > 0
            and abs(days.peer_day_ratio - 1) >= {{ rules['peer_shift'] }}
            then days.peer_day_ratio
        else 1
    end
{%- endset %}
{#- most of the day's excess (over its expected kWh as the calendar moved
    it) is at night: the night rule, not a change of the day -#}
{%- set night_explains -%}
    (days.night_ratio >= {{ rules['night_ratio'] }}
    and (
        days.observed_day_kwh <= days.expected_day_kwh * {{ calendar_day_factor }}
        or days.night_kwh - days.expected_night_kwh
        >= {{ rules['night_share'] }}
        * (days.observed_day_kwh - days.expected_day_kwh * {{ calendar_day_factor }})
    ))
{%- endset %}

with

-- read twice (the hours, the days): held in memory, a city year's features
-- took 16 GB more and were slower than reading the files again
features as {{ wattlake.not_materialized() }} (
    select * from {{ ref('stg_curated__anomaly_features') }}
),

calendar as (
    select * from {{ ref('dim_date') }}
),

quarantined as (
    select * from {{ ref('int_readings_quarantined') }}
),

meter_sites as (
    select * from {{ ref('int_meter_sites') }}
),

-- negative readings from a meter that is not a net meter: a faulty meter
-- (quarantined as negative_energy, so the features never see them)
negative_hours as (
    select
        quarantined.meter_id,
        {{ dbt.date_trunc('hour', 'quarantined.reading_start_utc') }} as hour_start_utc,
        count(*) as reading_count
    from quarantined
    where quarantined.quarantine_reason = 'negative_energy'
    group by
        quarantined.meter_id,
        {{ dbt.date_trunc('hour', 'quarantined.reading_start_utc') }}
),

negative_flags as (
    select
        negative_hours.meter_id,
        meter_sites.site_id,
        meter_sites.site_type,
        meter_sites.area_id,
        'negative' as anomaly_type,
        'hour' as period_grain,
        {{ wattlake.periods_since_2000('negative_hours.hour_start_utc', 'hour') }}
            as period_index,
        negative_hours.hour_start_utc as period_start_utc,
        {{ dbt.dateadd('hour', 1, 'negative_hours.hour_start_utc') }} as period_end_utc,
        cast(null as {{ wattlake.type_double() }}) as observed_kwh,
        cast(null as {{ wattlake.type_double() }}) as expected_kwh,
        cast(negative_hours.reading_count as {{ wattlake.type_double() }}) as score
    from negative_hours
    -- the meter's current version names its site (a negative meter is rare)
    inner join meter_sites
        on
            negative_hours.meter_id = meter_sites.meter_id
            and meter_sites.valid_to is null
),

hours as (
    select
        features.meter_id,
        features.site_id,
        features.site_type,
        features.area_id,
        features.hour_start_utc,
        features.energy_kwh,
        features.expected_kwh,
        case
            -- zeros where this meter usually reads more (a meter that often
            -- reads zero, as some quiet homes do, is not having an outage)
            when
                features.zero_interval_count >= 2
                and coalesce(features.expected_kwh, 1)
                > {{ rules['zero_expected_kwh'] }}
                then 'zero_run'
            when features.flat_run_hours >= 1 then 'stuck'
            when
                features.site_type <> 'home'
                and features.max_interval_ratio >= {{ rules['spike_interval_ratio'] }}
                then 'spike'
            -- far below expected, even as the calendar moved the site's
            -- peers that day (a holiday with no peers to tell is not judged)
            when
                features.site_type <> 'home'
                and features.minutes_reported = 60
                and features.expected_kwh > 0
                and features.energy_kwh
                <= {{ rules['dip_ratio'] }} * features.expected_kwh
                * {{ calendar_factor }}
                then 'dip'
        end as anomaly_type,
        case
            when features.max_interval_ratio >= {{ rules['spike_interval_ratio'] }}
                then features.max_interval_ratio
            when features.expected_kwh > 0
                then features.energy_kwh / features.expected_kwh
        end as score
    from features
    inner join calendar
        on features.local_date = calendar.date_day
),

hour_flags as (
    select
        hours.meter_id,
        hours.site_id,
        hours.site_type,
        hours.area_id,
        hours.anomaly_type,
        'hour' as period_grain,
        {{ wattlake.periods_since_2000('hours.hour_start_utc', 'hour') }}
            as period_index,
        hours.hour_start_utc as period_start_utc,
        {{ dbt.dateadd('hour', 1, 'hours.hour_start_utc') }} as period_end_utc,
        hours.energy_kwh as observed_kwh,
        hours.expected_kwh,
        hours.score
    from hours
    where hours.anomaly_type is not null
),

days as (
    select
        features.meter_id,
        features.local_date,
        max(features.site_id) as site_id,
        max(features.site_type) as site_type,
        max(features.area_id) as area_id,
        min(features.hour_start_utc) as first_hour_utc,
        max(features.hour_start_utc) as last_hour_utc,
        max(features.day_kwh) as day_kwh,
        max(features.expected_day_kwh) as expected_day_kwh,
        -- against the peers' median when there are enough peers
        max(
            case
                when features.peer_site_count >= {{ rules['peer_min_sites'] }}
                    then features.day_ratio / nullif(features.peer_day_ratio, 0)
                else features.day_ratio
            end
        ) as day_ratio,
        max(features.day_ratio * features.expected_day_kwh) as observed_day_kwh,
        max(features.night_ratio) as night_ratio,
        max(features.peer_day_ratio) as peer_day_ratio,
        max(features.peer_site_count) as peer_site_count,
        min(features.min_interval_kwh) as min_interval_kwh,
        -- a whole day: its readings cover enough of it
        sum(features.minutes_reported)
        >= 60 * {{ rules['whole_day_hours'] }} as is_whole_day,
        -- hours a meter fault explains (zeros, a repeated value)
        sum(
            case
                when features.zero_interval_count >= 2 or features.flat_run_hours >= 1
                    then 1
                else 0
            end
        ) as meter_fault_hours,
        -- the day's mean interval kWh (a home's night-load rule measures a
        -- rise of its night base against it)
        sum(features.energy_kwh)
        / nullif(sum(features.interval_count), 0) as mean_interval_kwh,
        sum(features.interval_count) as interval_count,
        -- each window's kWh, its base load (its smallest interval) and how
        -- many of its hours are whole (see base_windows; the night is the
        -- one the features judge)
        {%- for window, hours in base_windows.items() %}
            sum(
                case
                    when extract(hour from features.hour_start_local) {{ hours }}
                        then features.energy_kwh
                end
            ) as {{ window }}_kwh,
            min(
                case
                    when extract(hour from features.hour_start_local) {{ hours }}
                        then features.min_interval_kwh
                end
            ) as {{ window }}_min_interval_kwh,
            sum(
                case
                    when
                        extract(hour from features.hour_start_local) {{ hours }}
                        and features.minutes_reported = 60
                        then 1
                    else 0
                end
            ) as {{ window }}_whole_hours,
        {%- endfor %}
        sum(
            case
                when extract(hour from features.hour_start_local) < 6
                    then features.expected_kwh
            end
        ) as expected_night_kwh
    from features
    group by features.meter_id, features.local_date
),

day_flags as (
    select
        days.meter_id,
        days.site_id,
        days.site_type,
        days.area_id,
        case
            when days.meter_fault_hours > 0 then null
            when {{ night_explains }} then 'night_load'
            -- the peers moved far together (a school holiday, a term
            -- starting): the day is taken against their factor, which a
            -- site's own calendar follows only roughly, so only a far
            -- change of the day counts
            when
                days.peer_site_count >= {{ rules['peer_min_sites'] }}
                and abs(days.peer_day_ratio - 1) >= {{ rules['peer_calendar_shift'] }}
                then
                    case
                        when
                            days.day_ratio >= {{ rules['calendar_day_high'] }}
                            or days.day_ratio <= {{ rules['calendar_day_low'] }}
                            then 'level_change'
                    end
            when
                days.day_ratio >= {{ rules['drift_min_ratio'] }}
                or days.day_ratio <= {{ rules['level_shift_low'] }}
                then 'level_change'
        end as anomaly_type,
        'day' as period_grain,
        {{ wattlake.periods_since_2000('days.local_date', 'day') }}
            as period_index,
        days.first_hour_utc as period_start_utc,
        {{ dbt.dateadd('hour', 1, 'days.last_hour_utc') }} as period_end_utc,
        days.observed_day_kwh,
        days.expected_day_kwh,
        days.night_kwh,
        days.expected_night_kwh,
        days.day_ratio,
        days.night_ratio
    from days
    inner join calendar
        on days.local_date = calendar.date_day
    where days.site_type <> 'home' and not calendar.is_public_holiday
),

-- homes: the day's kWh when it is a whole day; each night's and each day's
-- base load when it can be judged (enough whole hours, no meter fault)
home_days as (
    select
        days.*,
        case when days.is_whole_day then days.day_kwh end as whole_day_kwh,
        -- the log of a whole, fault-free day's kWh: a level shift multiplies
        -- a home's use, and a home's days swing by a factor, not by kWh
        case
            when
                days.is_whole_day
                and days.meter_fault_hours = 0
                and days.day_kwh > 0
                then ln(days.day_kwh)
        end as judged_day_log_kwh,
        -- a meter that exports (a net meter with solar) at any time
        min(days.min_interval_kwh) over (
            partition by days.meter_id
        ) as lowest_interval_kwh,
        case
            when
                days.night_whole_hours >= {{ rules['home_night_min_hours'] }}
                and days.meter_fault_hours = 0
                then days.night_min_interval_kwh
        end as judged_night_min_interval_kwh,
        case
            when
                days.daytime_whole_hours >= {{ rules['home_daytime_min_hours'] }}
                and days.meter_fault_hours = 0
                then days.daytime_min_interval_kwh
        end as judged_daytime_min_interval_kwh,
        case
            when
                days.is_whole_day
                and days.meter_fault_hours = 0
                then days.min_interval_kwh
        end as judged_min_interval_kwh,
    {%- for window, hours in dark_windows.items() %}
        case
            when
                days.{{ window }}_whole_hours = {{ hours }}
                and days.meter_fault_hours = 0
                then days.{{ window }}_min_interval_kwh
        end as judged_{{ window }}_min_interval_kwh,
        case
            when
                days.{{ window }}_whole_hours = {{ hours }}
                and days.meter_fault_hours = 0
                and days.{{ window }}_min_interval_kwh > 0
                then ln(days.{{ window }}_min_interval_kwh)
        end as judged_{{ window }}_log_kwh
        {{- ',' if not loop.last }}
    {%- endfor %}
    from days
    where days.site_type = 'home'
),

-- homes: the other homes of the area that day (net meters left out), whose
-- mean log kWh (of each series) is what the weather and the calendar did to
-- every home
home_peer_days as (
    select
        home_days.area_id,
        home_days.local_date,
    {%- for series in level_series %}
        sum(home_days.judged_{{ series }}_log_kwh) as {{ series }}_log_kwh_sum,
        count(home_days.judged_{{ series }}_log_kwh) as {{ series }}_home_count
        {{- ',' if not loop.last }}
    {%- endfor %}
    from home_days
    where home_days.lowest_interval_kwh >= 0
    group by home_days.area_id, home_days.local_date
),

-- homes: each judged day's log kWh (of each series) less the mean of the
-- area's other homes that day (with fewer than peer_min_sites of them, the
-- day as it is)
home_days_against_peers as (
    select
        home_days.*,
    {%- for series in level_series %}
        home_days.judged_{{ series }}_log_kwh - case
            when
                home_days.lowest_interval_kwh >= 0
                and home_peer_days.{{ series }}_home_count - 1
                >= {{ rules['peer_min_sites'] }}
                then
                    (
                        home_peer_days.{{ series }}_log_kwh_sum
                        - home_days.judged_{{ series }}_log_kwh
                    )
                    / (home_peer_days.{{ series }}_home_count - 1)
            when
                home_days.lowest_interval_kwh < 0
                and home_peer_days.{{ series }}_home_count
                >= {{ rules['peer_min_sites'] }}
                then
                    home_peer_days.{{ series }}_log_kwh_sum
                    / home_peer_days.{{ series }}_home_count
            else 0
        end as {{ series }}_log_kwh_against_peers
        {{- ',' if not loop.last }}
    {%- endfor %}
    from home_days
    left join home_peer_days
        on
            home_days.area_id = home_peer_days.area_id
            and home_days.local_date = home_peer_days.local_date
),

-- homes: the last 14 days against the 28 before them, on the log kWh against
-- the peers; the night's and the day's base load against the 28 days before
{%- set days_before -%}
    partition by home_days.meter_id order by home_days.local_date
    rows between 28 preceding and 1 preceding
{%- endset %}
{%- set last_14_days -%}
    partition by home_days.meter_id order by home_days.local_date
    rows between 13 preceding and current row
{%- endset %}
{%- set the_28_days_before_them -%}
    partition by home_days.meter_id order by home_days.local_date
    rows between 41 preceding and 14 preceding
{%- endset %}
home_windows as (
    select
        home_days.*,
        -- each series over the last 14 days and the 28 before them: its
        -- mean, its days and the home's own day-to-day spread within each
        -- side (a shift between them is no spread)
        {%- for series in level_series %}
            {%- for side, frame in [
                ('recent', last_14_days), ('usual', the_28_days_before_them)
            ] %}
                avg(home_days.{{ series }}_log_kwh_against_peers) over (
                    {{ frame }}
                ) as {{ series }}_{{ side }}_log_kwh,
                count(home_days.{{ series }}_log_kwh_against_peers) over (
                    {{ frame }}
                ) as {{ series }}_{{ side }}_days,
                var_samp(home_days.{{ series }}_log_kwh_against_peers) over (
                    {{ frame }}
                ) as {{ series }}_{{ side }}_variance,
            {%- endfor %}
        {%- endfor %}
        -- what the flags report as expected: the mean whole day before
        avg(home_days.whole_day_kwh) over (
            {{ the_28_days_before_them }}
        ) as usual_day_kwh,
        -- the night and day base loads of the days before this one
        -- (judged ones only)
        avg(home_days.judged_night_min_interval_kwh) over (
            {{ days_before }}
        ) as usual_night_min_interval_kwh,
        count(home_days.judged_night_min_interval_kwh) over (
            {{ days_before }}
        ) as usual_nights,
        avg(home_days.judged_daytime_min_interval_kwh) over (
            {{ days_before }}
        ) as usual_daytime_min_interval_kwh,
        avg(home_days.judged_min_interval_kwh) over (
            {{ days_before }}
        ) as usual_min_interval_kwh,
        count(home_days.judged_min_interval_kwh) over (
            {{ days_before }}
        ) as usual_base_days,
        avg(home_days.judged_predawn_min_interval_kwh) over (
            {{ days_before }}
        ) as usual_predawn_min_interval_kwh,
        count(home_days.judged_predawn_min_interval_kwh) over (
            {{ days_before }}
        ) as usual_predawns,
        avg(home_days.judged_evening_min_interval_kwh) over (
            {{ days_before }}
        ) as usual_evening_min_interval_kwh,
        avg(
            case
                when home_days.meter_fault_hours = 0 then home_days.mean_interval_kwh
            end
        ) over (
            {{ days_before }}
        ) as usual_mean_interval_kwh
    from home_days_against_peers as home_days
),

-- homes: how far the area's other homes' (net meters left out) bases before
-- dawn and in the evening rose over the days before, that day (geometric
-- means): what the weather did to every home (warm nights' air
-- conditioning, a cold spell's heating)
home_peer_dark_bases as (
    select
        home_windows.area_id,
        home_windows.local_date,
        {%- for window in dark_windows %}
            avg(
                ln(
                    home_windows.judged_{{ window }}_min_interval_kwh
                    / home_windows.usual_{{ window }}_min_interval_kwh
                )
            ) as {{ window }}_log_ratio,
        {%- endfor %}
        count(*) as home_count
    from home_windows
    where
        home_windows.lowest_interval_kwh >= 0
        and home_windows.usual_predawns >= {{ rules['home_drift_usual_min_days'] }}
        {%- for window in dark_windows %}
            and home_windows.usual_{{ window }}_min_interval_kwh > 0
            and home_windows.judged_{{ window }}_min_interval_kwh > 0
        {%- endfor %}
    group by home_windows.area_id, home_windows.local_date
),

-- homes: the base load far above the days before by night and all day,
-- risen by day as well (a load that runs all day, which no night load is)
-- and by a load that matters (a share of the home's mean interval); and
-- over the last 7 days, how far the mean interval and the whole day's base
-- rose above the days before. A net meter's day is use less the sun: its
-- base before dawn far above the days before (and above what the weather
-- did to its peers' that day), and its evening base risen as well.
home_weeks as (
    select
        home_windows.*,
        coalesce(
            home_windows.lowest_interval_kwh < 0
            and home_windows.usual_predawns
            >= {{ rules['home_drift_usual_min_days'] }}
            and home_windows.usual_predawn_min_interval_kwh > 0
            and home_windows.judged_predawn_min_interval_kwh
            >= {{ rules['home_drift_base_ratio'] }}
            * {{ expected_dark_base | replace('WINDOW', 'predawn') }}
            and home_windows.judged_evening_min_interval_kwh
            - {{ expected_dark_base | replace('WINDOW', 'evening') }}
            between {{ rules['home_drift_daytime_share'] }}
            * (
                home_windows.judged_predawn_min_interval_kwh
                - {{ expected_dark_base | replace('WINDOW', 'predawn') }}
            )
            and {{ rules['home_drift_mean_excess_ratio'] }}
            * (
                home_windows.judged_predawn_min_interval_kwh
                - {{ expected_dark_base | replace('WINDOW', 'predawn') }}
            ),
            false
        ) as is_predawn_base_raised,
        coalesce(
            home_windows.usual_base_days >= {{ rules['home_drift_usual_min_days'] }}
            and home_windows.lowest_interval_kwh >= 0
            and home_windows.usual_daytime_min_interval_kwh > 0
            and home_windows.usual_night_min_interval_kwh > 0
            and home_windows.usual_min_interval_kwh > 0
            and home_windows.judged_night_min_interval_kwh
            >= {{ rules['home_drift_base_ratio'] }}
            * home_windows.usual_night_min_interval_kwh
            and home_windows.judged_min_interval_kwh
            >= {{ rules['home_drift_base_ratio'] }}
            * home_windows.usual_min_interval_kwh
            and home_windows.judged_daytime_min_interval_kwh
            - home_windows.usual_daytime_min_interval_kwh
            >= {{ rules['home_drift_daytime_share'] }}
            * (
                home_windows.judged_night_min_interval_kwh
                - home_windows.usual_night_min_interval_kwh
            ),
            false
        ) as is_day_base_above,
        (
            home_windows.judged_min_interval_kwh
            - home_windows.usual_min_interval_kwh
        )
        / nullif(home_windows.usual_mean_interval_kwh, 0) as day_base_excess_share,
        avg(
            case
                when home_windows.meter_fault_hours = 0
                    then
                        home_windows.mean_interval_kwh
                        - home_windows.usual_mean_interval_kwh
            end
        ) over ({{ last_7_days }}) as week_mean_excess_kwh,
        {%- for name, term in creep_terms.items() %}
            sum(
                case when {{ creep_y }} is not null then {{ term }} end
            ) over ({{ last_creep_days }}) as creep_sum_{{ name }},
        {%- endfor %}
        avg(
            home_windows.judged_min_interval_kwh
            - home_windows.usual_min_interval_kwh
        ) over ({{ last_7_days }}) as week_base_excess_kwh
    from home_windows
    left join home_peer_dark_bases
        on
            home_windows.area_id = home_peer_dark_bases.area_id
            and home_windows.local_date = home_peer_dark_bases.local_date
),

-- homes: a failing appliance adds a load of its own: the base raised all
-- day by a load that matters, and the home's mean risen by about as much
-- over the last 7 days (a home using more of everything raises its mean by
-- a multiple of its base); or a smaller load whose base crept up day after
-- day (however the home's own use swung: a holiday at home); on a net
-- meter (whose mean is use less the sun), its base before dawn and in the
-- evening raised
{%- set creep_correlation -%}
    (
        home_weeks.creep_sum_n * home_weeks.creep_sum_xy
        - home_weeks.creep_sum_x * home_weeks.creep_sum_y
    )
    / nullif(
        sqrt(
            greatest(
                (
                    home_weeks.creep_sum_n * home_weeks.creep_sum_xx
                    - home_weeks.creep_sum_x * home_weeks.creep_sum_x
                )
                * (
                    home_weeks.creep_sum_n * home_weeks.creep_sum_yy
                    - home_weeks.creep_sum_y * home_weeks.creep_sum_y
                ),
                0
            )
        ),
        0
    )
{%- endset %}
home_bases as (
    select
        home_weeks.*,
        coalesce(
            home_weeks.is_day_base_above
            and home_weeks.day_base_excess_share
            >= {{ rules['home_drift_excess_share'] }},
            false
        ) as is_day_base_raised,
        home_weeks.is_predawn_base_raised
        or (
            home_weeks.is_day_base_above
            and coalesce(
                home_weeks.day_base_excess_share
                >= {{ rules['home_drift_excess_share'] }}
                and home_weeks.week_mean_excess_kwh
                <= {{ rules['home_drift_mean_excess_ratio'] }}
                * home_weeks.week_base_excess_kwh
                or home_weeks.day_base_excess_share
                >= {{ rules['home_drift_creep_excess_share'] }}
                and home_weeks.creep_sum_n
                >= {{ rules['home_drift_creep_days'] - 2 }}
                and {{ creep_correlation }}
                >= {{ rules['home_drift_creep_min_correlation'] }},
                false
            )
        ) as is_base_raised
    from home_weeks
),

-- homes: each series' factor between the two geometric means (against the
-- peers), and how far that is in the home's spread within the two windows,
-- pooled (a two-sample z-score)
home_series_scores as (
    select
        home_bases.*,
    {%- for series in level_series %}
        home_bases.{{ series }}_recent_log_kwh
        - home_bases.{{ series }}_usual_log_kwh as {{ series }}_log_ratio,
        (home_bases.{{ series }}_recent_log_kwh - home_bases.{{ series }}_usual_log_kwh)
        / nullif(
            sqrt(
                (
                    (home_bases.{{ series }}_recent_days - 1)
                    * home_bases.{{ series }}_recent_variance
                    + (home_bases.{{ series }}_usual_days - 1)
                    * home_bases.{{ series }}_usual_variance
                )
                / (
                    home_bases.{{ series }}_recent_days
                    + home_bases.{{ series }}_usual_days - 2
                )
                / home_bases.{{ series }}_recent_days
            ),
            0
        ) as {{ series }}_zscore
        {{- ',' if not loop.last }}
    {%- endfor %}
    from home_bases
),

-- homes: a home that never exports is judged on its day's kWh, a net meter
-- (its day is use less the sun) on its base before dawn and in the evening
-- together: both moved the same way, by the smaller factor and z-score
home_scores as (
    select
        home_series_scores.*,
        exp(
            case
                when home_series_scores.lowest_interval_kwh >= 0
                    then home_series_scores.day_log_ratio
                when
                    home_series_scores.predawn_log_ratio > 0
                    and home_series_scores.evening_log_ratio > 0
                    then
                        least(
                            home_series_scores.predawn_log_ratio,
                            home_series_scores.evening_log_ratio
                        )
                when
                    home_series_scores.predawn_log_ratio < 0
                    and home_series_scores.evening_log_ratio < 0
                    then
                        greatest(
                            home_series_scores.predawn_log_ratio,
                            home_series_scores.evening_log_ratio
                        )
                else 0
            end
        ) as home_ratio,
        case
            when home_series_scores.lowest_interval_kwh >= 0
                then home_series_scores.day_zscore
            when
                home_series_scores.predawn_zscore > 0
                and home_series_scores.evening_zscore > 0
                then
                    least(
                        home_series_scores.predawn_zscore,
                        home_series_scores.evening_zscore
                    )
            when
                home_series_scores.predawn_zscore < 0
                and home_series_scores.evening_zscore < 0
                then
                    greatest(
                        home_series_scores.predawn_zscore,
                        home_series_scores.evening_zscore
                    )
            else 0
        end as home_zscore
    from home_series_scores
    -- enough days on both sides
    where
        (
            home_series_scores.lowest_interval_kwh >= 0
            and home_series_scores.day_recent_days
            >= {{ rules['home_recent_min_days'] }}
            and home_series_scores.day_usual_days >= {{ rules['home_usual_min_days'] }}
            and home_series_scores.usual_day_kwh > 0
        )
        or (
            home_series_scores.lowest_interval_kwh < 0
            {%- for series in dark_windows %}
                and home_series_scores.{{ series }}_recent_days
                >= {{ rules['home_recent_min_days'] }}
                and home_series_scores.{{ series }}_usual_days
                >= {{ rules['home_usual_min_days'] }}
            {%- endfor %}
        )
),

home_flags as (
    select
        home_scores.meter_id,
        home_scores.site_id,
        home_scores.site_type,
        home_scores.area_id,
        'home_level_change' as anomaly_type,
        'day' as period_grain,
        {{ wattlake.periods_since_2000('home_scores.local_date', 'day') }}
            as period_index,
        home_scores.first_hour_utc as period_start_utc,
        {{ dbt.dateadd('hour', 1, 'home_scores.last_hour_utc') }} as period_end_utc,
        -- a net meter's: its kWh before dawn and in the evening (out of the
        -- sun), and the same at its usual level (over the factor it moved by)
        case
            when home_scores.lowest_interval_kwh >= 0 then home_scores.day_kwh
            else home_scores.predawn_kwh + home_scores.evening_kwh
        end as observed_kwh,
        case
            when home_scores.lowest_interval_kwh >= 0 then home_scores.usual_day_kwh
            else
                (home_scores.predawn_kwh + home_scores.evening_kwh)
                / home_scores.home_ratio
        end as expected_kwh,
        home_scores.home_ratio as score
    from home_scores
    where
        home_scores.meter_fault_hours = 0
        and not home_scores.is_base_raised
        and not coalesce({{ night_explains | replace('days.', 'home_scores.') }}, false)
        and (
            (
                home_scores.home_ratio >= {{ rules['home_shift_high'] }}
                and home_scores.home_zscore >= {{ rules['home_shift_zscore'] }}
            )
            or (
                home_scores.home_ratio <= {{ rules['home_shift_low'] }}
                and home_scores.home_zscore <= -{{ rules['home_shift_zscore'] }}
            )
        )
),

-- homes: something left on raises the night's base load (its smallest
-- interval) far above the usual. A home's night use swings with a late film
-- or a dishwasher; its base load (the fridge, standby) does not.
home_night_flags as (
    select
        home_bases.meter_id,
        home_bases.site_id,
        home_bases.site_type,
        home_bases.area_id,
        'home_night_load' as anomaly_type,
        'day' as period_grain,
        {{ wattlake.periods_since_2000('home_bases.local_date', 'day') }}
            as period_index,
        home_bases.first_hour_utc as period_start_utc,
        {{ dbt.dateadd('hour', 1, 'home_bases.last_hour_utc') }} as period_end_utc,
        home_bases.night_kwh as observed_kwh,
        home_bases.expected_night_kwh as expected_kwh,
        home_bases.judged_night_min_interval_kwh
        / home_bases.usual_night_min_interval_kwh as score
    from home_bases
    where
        home_bases.usual_nights >= {{ rules['home_night_usual_min_nights'] }}
        and home_bases.lowest_interval_kwh >= 0
        and home_bases.usual_night_min_interval_kwh > 0
        and home_bases.judged_night_min_interval_kwh
        >= {{ rules['home_night_base_ratio'] }}
        * home_bases.usual_night_min_interval_kwh
        -- and by a load that matters: a share of the home's mean interval
        -- (a cool night starting the heating lifts a summer base as much)
        and home_bases.judged_night_min_interval_kwh
        - home_bases.usual_night_min_interval_kwh
        >= {{ rules['home_night_excess_share'] }}
        * home_bases.usual_mean_interval_kwh
        and not home_bases.is_day_base_raised
),

-- homes: a failing appliance adds a load of its own, day and night (the
-- excess is the whole day's base rise over the day's intervals)
home_drift_flags as (
    select
        home_bases.meter_id,
        home_bases.site_id,
        home_bases.site_type,
        home_bases.area_id,
        'home_drift' as anomaly_type,
        'day' as period_grain,
        {{ wattlake.periods_since_2000('home_bases.local_date', 'day') }}
            as period_index,
        home_bases.first_hour_utc as period_start_utc,
        {{ dbt.dateadd('hour', 1, 'home_bases.last_hour_utc') }} as period_end_utc,
        home_bases.day_kwh as observed_kwh,
        home_bases.day_kwh
        - case
            when home_bases.is_predawn_base_raised
                then
                    home_bases.judged_predawn_min_interval_kwh
                    - home_bases.usual_predawn_min_interval_kwh
            else
                home_bases.judged_min_interval_kwh
                - home_bases.usual_min_interval_kwh
        end
        * home_bases.interval_count as expected_kwh,
        case
            when home_bases.is_predawn_base_raised
                then
                    home_bases.judged_predawn_min_interval_kwh
                    / home_bases.usual_predawn_min_interval_kwh
            else
                home_bases.judged_min_interval_kwh
                / home_bases.usual_min_interval_kwh
        end as score
    from home_bases
    where home_bases.is_base_raised
),

final as (
    select
        hour_flags.meter_id,
        hour_flags.site_id,
        hour_flags.site_type,
        hour_flags.area_id,
        hour_flags.anomaly_type,
        hour_flags.period_grain,
        hour_flags.period_index,
        hour_flags.period_start_utc,
        hour_flags.period_end_utc,
        hour_flags.observed_kwh,
        hour_flags.expected_kwh,
        hour_flags.score
    from hour_flags
    union all
    select
        day_flags.meter_id,
        day_flags.site_id,
        day_flags.site_type,
        day_flags.area_id,
        day_flags.anomaly_type,
        day_flags.period_grain,
        day_flags.period_index,
        day_flags.period_start_utc,
        day_flags.period_end_utc,
        case
            when day_flags.anomaly_type = 'night_load' then day_flags.night_kwh
            -- the day's kWh in the hours that have an expected value
            else day_flags.observed_day_kwh
        end as observed_kwh,
        case
            when day_flags.anomaly_type = 'night_load' then day_flags.expected_night_kwh
            else day_flags.expected_day_kwh
        end as expected_kwh,
        case
            when day_flags.anomaly_type = 'night_load' then day_flags.night_ratio
            else day_flags.day_ratio
        end as score
    from day_flags
    where day_flags.anomaly_type is not null
    union all
    select * from home_flags
    union all
    select * from home_night_flags
    union all
    select * from home_drift_flags
    union all
    select * from negative_flags
)

select * from final
