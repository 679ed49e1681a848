{#- One row per site and local month. Incremental by local month
    (macros/incremental_by.sql). -#}
{{ config(**wattlake.incremental_by(
    'reading_month_local', sort=['reading_month_local', 'site_id'], dist='site_id'
)) }}

with

daily as (
    select * from {{ ref('fct_site_daily_usage') }}
),

sites as (
    select * from {{ ref('dim_sites') }}
),

restated as {{ wattlake.not_materialized() }} (
    select daily.*
    from daily
    where {{ wattlake.restated_rows(
        ref('fct_site_daily_usage'), 'reading_month_local', alias='daily'
    ) }}
),

peak_days as (
    select
        restated.site_id,
        restated.reading_month_local,
        restated.peak_hour_start_local,
        row_number() over (
            partition by restated.site_id, restated.reading_month_local
            order by
                restated.peak_hourly_demand_kw desc,
                restated.reading_date_local asc
        ) as demand_rank
    from restated
),

monthly_totals as (
    select
        restated.site_id,
        restated.reading_month_local,
        sum(restated.energy_kwh) as energy_kwh,
        max(restated.peak_hourly_demand_kw) as peak_hourly_demand_kw,
        avg(restated.night_base_load_kw) as night_base_load_kw,
        sum(restated.after_hours_energy_kwh) as after_hours_energy_kwh,
        count(*) as day_count,
        sum(restated.minutes_reported) as minutes_reported,
        sum(restated.coverage_pct * restated.hours_in_day) as coverage_pct_hours
    from restated
    group by restated.site_id, restated.reading_month_local
),

-- the month's length in local hours: 743 in March and 745 in October in Europe
month_lengths as (
    select
        monthly_totals.site_id,
        monthly_totals.reading_month_local,
        {{ dbt.datediff(
            wattlake.local_to_utc('monthly_totals.reading_month_local', 'sites.time_zone'),
            wattlake.local_to_utc(
                dbt.dateadd('month', 1, 'monthly_totals.reading_month_local'),
                'sites.time_zone'
            ),
            'hour'
        ) }} as hours_in_month
    from monthly_totals
    inner join sites
        on monthly_totals.site_id = sites.site_id
),

final as (
    select
        monthly_totals.site_id,
        sites.area_id,
        sites.site_type,
        monthly_totals.energy_kwh,
        monthly_totals.peak_hourly_demand_kw,
        peak_days.peak_hour_start_local,
        -- average demand over the whole month / peak demand (missing days lower it)
        monthly_totals.energy_kwh / month_lengths.hours_in_month
        / nullif(monthly_totals.peak_hourly_demand_kw, 0) as load_factor,
        monthly_totals.night_base_load_kw,
        monthly_totals.after_hours_energy_kwh,
        monthly_totals.energy_kwh / nullif(sites.floor_area_m2, 0) as energy_kwh_per_m2,
        cast(monthly_totals.day_count as {{ dbt.type_int() }}) as day_count,
        cast({{ dbt.datediff(
            'monthly_totals.reading_month_local',
            dbt.dateadd('month', 1, 'monthly_totals.reading_month_local'),
            'day'
        ) }} as {{ dbt.type_int() }}) as days_in_month,
        -- coverage of the days reported, weighted by their hours, over the month's
        -- hours (a missing day counts as 0)
        monthly_totals.coverage_pct_hours / month_lengths.hours_in_month
            as coverage_pct,
        {{ wattlake.run_timestamp() }} as restated_at_utc,
        monthly_totals.reading_month_local
    from monthly_totals
    inner join sites
        on monthly_totals.site_id = sites.site_id
    inner join peak_days
        on
            monthly_totals.site_id = peak_days.site_id
            and monthly_totals.reading_month_local = peak_days.reading_month_local
            and peak_days.demand_rank = 1
    inner join month_lengths
        on
            monthly_totals.site_id = month_lengths.site_id
            and monthly_totals.reading_month_local = month_lengths.reading_month_local
)

select * from final
