with

hourly as (
    select * from {{ ref('int_readings_rolled_up_to_hour') }}
),

sites as (
    select * from {{ ref('dim_sites') }}
),

daily_totals as (
    select
        hourly.site_id,
        hourly.reading_date_local,
        sum(hourly.energy_kwh) as energy_kwh,
        max(hourly.avg_demand_kw) as peak_hourly_demand_kw,
        count(*) as hour_count,  -- 23 or 25 on DST change days, by design
        sum(hourly.interval_count) as interval_count
    from hourly
    group by hourly.site_id, hourly.reading_date_local
),

final as (
    select
        daily_totals.site_id,
        sites.area_id,
        sites.site_type,
        daily_totals.reading_date_local,
        daily_totals.energy_kwh,
        daily_totals.peak_hourly_demand_kw,
        cast(daily_totals.hour_count as {{ dbt.type_int() }}) as hour_count,
        cast(daily_totals.interval_count as {{ dbt.type_int() }}) as interval_count,
        daily_totals.energy_kwh / nullif(sites.floor_area_m2, 0) as energy_kwh_per_m2
    from daily_totals
    inner join sites
        on daily_totals.site_id = sites.site_id
)

select * from final
