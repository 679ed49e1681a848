with

hourly as (
    select * from {{ ref('int_readings_rolled_up_to_hour') }}
),

site_days as (
    select * from {{ ref('fct_site_daily_usage') }}
),

sites as (
    select * from {{ ref('dim_sites') }}
),

area_hours as (
    -- sites of an area draw at the same time: their hourly demands add up
    select
        hourly.area_id,
        hourly.reading_date_local,
        hourly.hour_start_utc,
        sum(hourly.avg_demand_kw) as avg_demand_kw
    from hourly
    group by hourly.area_id, hourly.reading_date_local, hourly.hour_start_utc
),

area_peaks as (
    select
        area_hours.area_id,
        area_hours.reading_date_local,
        max(area_hours.avg_demand_kw) as peak_hourly_demand_kw,
        count(*) as hour_count
    from area_hours
    group by area_hours.area_id, area_hours.reading_date_local
),

area_totals as (
    select
        site_days.area_id,
        site_days.reading_date_local,
        sum(site_days.energy_kwh) as energy_kwh,
        count(*) as site_count,
        sum(sites.floor_area_m2) as floor_area_m2
    from site_days
    inner join sites
        on site_days.site_id = sites.site_id
    group by site_days.area_id, site_days.reading_date_local
),

final as (
    select
        area_totals.area_id,
        area_totals.reading_date_local,
        area_totals.energy_kwh,
        area_peaks.peak_hourly_demand_kw,
        cast(area_totals.site_count as {{ dbt.type_int() }}) as site_count,
        cast(area_peaks.hour_count as {{ dbt.type_int() }}) as hour_count,
        area_totals.energy_kwh
        / nullif(area_totals.floor_area_m2, 0) as energy_kwh_per_m2
    from area_totals
    inner join area_peaks
        on
            area_totals.area_id = area_peaks.area_id
            and area_totals.reading_date_local = area_peaks.reading_date_local
)

select * from final
