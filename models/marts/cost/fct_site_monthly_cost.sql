{#- Incremental by local month (macros/incremental_by.sql): a run restates
    the months fct_site_daily_cost restated since its last run. -#}
{{ config(**wattlake.incremental_by(
    'reading_month_local', sort=['reading_month_local', 'site_id'], dist='site_id'
)) }}

-- The site's bill for each local month: the sum of its days' charges (see
-- fct_site_daily_cost for how each charge accrues), with the tariff it was on
-- at the end of the month and how many tariffs the month saw.
with

site_days as {{ wattlake.not_materialized() }} (
    select daily.*
    from {{ ref('fct_site_daily_cost') }} as daily
    where {{ wattlake.restated_rows(
        ref('fct_site_daily_cost'), 'reading_month_local', alias='daily'
    ) }}
),

monthly_totals as (
    select
        site_days.site_id,
        site_days.reading_month_local,
        max(site_days.reading_date_local) as last_reading_date_local,
        count(*) as day_count,
        count(distinct site_days.tariff_id) as tariff_count,
        sum(case when site_days.is_default_tariff then 1 else 0 end)
            as default_tariff_day_count,
        sum(site_days.energy_kwh) as energy_kwh,
        sum(site_days.imported_kwh) as imported_kwh,
        sum(site_days.exported_kwh) as exported_kwh,
        sum(site_days.off_peak_kwh) as off_peak_kwh,
        sum(site_days.standard_kwh) as standard_kwh,
        sum(site_days.peak_kwh) as peak_kwh,
        max(site_days.peak_hourly_demand_kw) as peak_hourly_demand_kw,
        sum(site_days.energy_charge_gbp) as energy_charge_gbp,
        sum(site_days.tiered_charge_gbp) as tiered_charge_gbp,
        sum(site_days.fixed_charge_gbp) as fixed_charge_gbp,
        sum(site_days.demand_charge_gbp) as demand_charge_gbp,
        sum(site_days.total_cost_gbp) as total_cost_gbp,
        sum(site_days.co2_kg) as co2_kg
    from site_days
    group by site_days.site_id, site_days.reading_month_local
),

final as (
    select
        cast(monthly_totals.site_id as {{ dbt.type_string() }}) as site_id,
        cast(closing_day.area_id as {{ dbt.type_string() }}) as area_id,
        cast(closing_day.site_type as {{ dbt.type_string() }}) as site_type,
        cast(monthly_totals.day_count as {{ dbt.type_int() }}) as day_count,
        cast(monthly_totals.tariff_count as {{ dbt.type_int() }}) as tariff_count,
        cast(closing_day.tariff_id as {{ dbt.type_string() }}) as closing_tariff_id,
        cast(monthly_totals.default_tariff_day_count as {{ dbt.type_int() }})
            as default_tariff_day_count,
        cast(monthly_totals.energy_kwh as {{ wattlake.type_double() }}) as energy_kwh,
        cast(monthly_totals.imported_kwh as {{ wattlake.type_double() }})
            as imported_kwh,
        cast(monthly_totals.exported_kwh as {{ wattlake.type_double() }})
            as exported_kwh,
        cast(monthly_totals.off_peak_kwh as {{ wattlake.type_double() }})
            as off_peak_kwh,
        cast(monthly_totals.standard_kwh as {{ wattlake.type_double() }})
            as standard_kwh,
        cast(monthly_totals.peak_kwh as {{ wattlake.type_double() }}) as peak_kwh,
        cast(monthly_totals.peak_hourly_demand_kw as {{ wattlake.type_double() }})
            as peak_hourly_demand_kw,
        cast(monthly_totals.energy_charge_gbp as {{ wattlake.type_double() }})
            as energy_charge_gbp,
        cast(monthly_totals.tiered_charge_gbp as {{ wattlake.type_double() }})
            as tiered_charge_gbp,
        cast(monthly_totals.fixed_charge_gbp as {{ wattlake.type_double() }})
            as fixed_charge_gbp,
        cast(monthly_totals.demand_charge_gbp as {{ wattlake.type_double() }})
            as demand_charge_gbp,
        cast(monthly_totals.total_cost_gbp as {{ wattlake.type_double() }})
            as total_cost_gbp,
        cast(monthly_totals.co2_kg as {{ wattlake.type_double() }}) as co2_kg,
        {{ wattlake.run_timestamp() }} as restated_at_utc,
        -- the partition column goes last (Athena requires it)
        cast(monthly_totals.reading_month_local as date) as reading_month_local
    from monthly_totals
    inner join site_days as closing_day
        on
            monthly_totals.site_id = closing_day.site_id
            and monthly_totals.last_reading_date_local = closing_day.reading_date_local
)

select * from final
