{#- One row per site and local day. Incremental by local date; on Athena by
    local month, its partition (macros/incremental_by.sql). -#}
{{ config(**wattlake.incremental_by(
    'reading_date_local', athena_key='reading_month_local',
    sort=['reading_date_local', 'site_id'], dist='site_id'
)) }}

with

hourly as (
    select * from {{ ref('fct_site_hourly_usage') }}
),

sites as (
    select * from {{ ref('dim_sites') }}
),

restated as {{ wattlake.not_materialized() }} (
    select hourly.*
    from hourly
    where {{ wattlake.restated_rows(
        ref('fct_site_hourly_usage'), 'reading_date_local',
        athena_key='reading_month_local', alias='hourly'
    ) }}
),

-- the length of each local day: 23 or 25 hours when the clocks change
local_days as (
    select distinct
        sites.time_zone,
        restated.reading_date_local
    from restated
    inner join sites
        on restated.site_id = sites.site_id
),

day_lengths as (
    select
        local_days.time_zone,
        local_days.reading_date_local,
        {{ dbt.datediff(
            wattlake.local_to_utc('local_days.reading_date_local', 'local_days.time_zone'),
            wattlake.local_to_utc(dbt.dateadd('day', 1, 'local_days.reading_date_local'), 'local_days.time_zone'),
            'minute'
        ) }} as minutes_in_day
    from local_days
),

peak_hours as (
    select
        restated.site_id,
        restated.reading_date_local,
        restated.hour_start_local,
        row_number() over (
            partition by restated.site_id, restated.reading_date_local
            order by restated.avg_demand_kw desc, restated.hour_start_utc asc
        ) as demand_rank
    from restated
),

daily_totals as (
    select
        restated.site_id,
        restated.reading_date_local,
        restated.reading_month_local,
        sum(restated.energy_kwh) as energy_kwh,
        max(restated.avg_demand_kw) as peak_hourly_demand_kw,
        -- base load: the average demand of the small hours, 01:00-05:00 local
        avg(
            case
                when restated.hour_of_day_local between 1 and 4
                    then restated.avg_demand_kw
            end
        ) as night_base_load_kw,
        -- 0 when a site type with opening hours used nothing after hours; null
        -- for types without opening hours (is_after_hours is null)
        sum(
            case
                when restated.is_after_hours then restated.energy_kwh
                when not restated.is_after_hours then 0
            end
        ) as after_hours_energy_kwh,
        count(*) as hour_count,  -- 23 or 25 on DST change days, by design
        sum(restated.interval_count) as interval_count,
        sum(restated.minutes_reported) as minutes_reported,
        max(restated.meter_count) as meter_count
    from restated
    group by restated.site_id, restated.reading_date_local, restated.reading_month_local
),

final as (
    select
        daily_totals.site_id,
        sites.area_id,
        sites.site_type,
        daily_totals.reading_date_local,
        daily_totals.energy_kwh,
        daily_totals.peak_hourly_demand_kw,
        peak_hours.hour_start_local as peak_hour_start_local,
        -- average demand over the whole day / peak demand
        daily_totals.energy_kwh * 60.0 / day_lengths.minutes_in_day
        / nullif(daily_totals.peak_hourly_demand_kw, 0) as load_factor,
        daily_totals.night_base_load_kw,
        daily_totals.after_hours_energy_kwh,
        daily_totals.energy_kwh / nullif(sites.floor_area_m2, 0) as energy_kwh_per_m2,
        cast(daily_totals.hour_count as {{ dbt.type_int() }}) as hour_count,
        cast(day_lengths.minutes_in_day / 60 as {{ dbt.type_int() }}) as hours_in_day,
        cast(daily_totals.interval_count as {{ dbt.type_int() }}) as interval_count,
        cast(daily_totals.minutes_reported as {{ dbt.type_int() }}) as minutes_reported,
        100.0 * daily_totals.minutes_reported
        / (day_lengths.minutes_in_day * daily_totals.meter_count) as coverage_pct,
        {{ wattlake.run_timestamp() }} as restated_at_utc,
        -- the partition column on Athena goes last
        daily_totals.reading_month_local
    from daily_totals
    inner join sites
        on daily_totals.site_id = sites.site_id
    inner join day_lengths
        on
            sites.time_zone = day_lengths.time_zone
            and daily_totals.reading_date_local = day_lengths.reading_date_local
    inner join peak_hours
        on
            daily_totals.site_id = peak_hours.site_id
            and daily_totals.reading_date_local = peak_hours.reading_date_local
            and peak_hours.demand_rank = 1
)

select * from final
