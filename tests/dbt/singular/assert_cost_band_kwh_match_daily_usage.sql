-- Every kWh of the usage mart is priced exactly once: for each site and local
-- month, the cost mart's net energy equals the daily usage mart's, and its
-- time-of-use bands hold all of the imported energy (off_peak + standard +
-- peak - exported = energy_kwh). Fails with one row per site and month that
-- is missing from either mart or whose totals differ by more than rounding.
with

usage_months as (
    select
        daily_usage.site_id,
        cast({{ dbt.date_trunc('month', 'daily_usage.reading_date_local') }} as date)
            as reading_month_local,
        daily_usage.energy_kwh
    from {{ ref('fct_site_daily_usage') }} as daily_usage
),

usage_totals as (
    select
        usage_months.site_id,
        usage_months.reading_month_local,
        sum(usage_months.energy_kwh) as energy_kwh
    from usage_months
    group by usage_months.site_id, usage_months.reading_month_local
),

cost_totals as (
    select
        monthly_cost.site_id,
        monthly_cost.reading_month_local,
        monthly_cost.energy_kwh,
        monthly_cost.off_peak_kwh
        + monthly_cost.standard_kwh
        + monthly_cost.peak_kwh
        - monthly_cost.exported_kwh as band_net_kwh
    from {{ ref('fct_site_monthly_cost') }} as monthly_cost
),

final as (
    select
        usage_totals.energy_kwh as usage_energy_kwh,
        cost_totals.energy_kwh as cost_energy_kwh,
        cost_totals.band_net_kwh,
        coalesce(usage_totals.site_id, cost_totals.site_id) as site_id,
        coalesce(usage_totals.reading_month_local, cost_totals.reading_month_local)
            as reading_month_local
    from usage_totals
    full outer join cost_totals
        on
            usage_totals.site_id = cost_totals.site_id
            and usage_totals.reading_month_local = cost_totals.reading_month_local
)

select * from final
where
    usage_energy_kwh is null
    or cost_energy_kwh is null
    or abs(usage_energy_kwh - cost_energy_kwh) > 0.001
    or abs(usage_energy_kwh - band_net_kwh) > 0.001
