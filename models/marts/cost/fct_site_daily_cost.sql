{#- Incremental by local month (macros/incremental_by.sql): a month's charges
    depend on all its days (the blocks run through the month's cumulative kWh,
    the demand charge is on the month's peak), so a run restates whole months:
    those whose site hours were restated since its last run, and those where a
    stored day's tariff, area or site type is no longer what
    int_site_day_tariffs and dim_sites say (a retailer's correction of a past
    assignment, a site moved to another area or type), or whose day has no
    usage any more. A full refresh gives the same rows. -#}
{{ config(**wattlake.incremental_by(
    'reading_month_local', sort=['reading_date_local', 'site_id'], dist='site_id'
)) }}

-- What each site's electricity cost on each local day, and the CO2 it emitted.
-- Every charge accrues per day with readings, on the tariff of that day:
--   energy:  the day's imported kWh priced by time-of-use band;
--   tiered:  the day's imported kWh priced by the blocks of the tariff that
--            the month's cumulative kWh on that tariff runs through;
--   fixed:   the tariff's daily charge;
--   demand:  the tariff's rate per kW and month, on the peak hourly demand of
--            the month's days on that tariff, divided by the days in the month
--            (a month with readings every day carries exactly peak x rate).

-- the months whose stored days an incremental run finds changed without a
-- restated hour
{% set changed_months -%}
    select distinct stored.reading_month_local
    from {{ this }} as stored
    left join {{ ref('int_site_day_tariffs') }} as current_days
        on
            stored.site_id = current_days.site_id
            and stored.reading_date_local = current_days.reading_date_local
    left join {{ ref('dim_sites') }} as current_sites
        on stored.site_id = current_sites.site_id
    where
        current_days.site_id is null
        or coalesce(current_days.tariff_id, '') <> stored.tariff_id
        or current_days.is_default_tariff <> stored.is_default_tariff
        or coalesce(current_sites.area_id, '') <> coalesce(stored.area_id, '')
        or coalesce(current_sites.site_type, '') <> coalesce(stored.site_type, '')
{%- endset %}

with

hours as {{ wattlake.not_materialized() }} (
    select priced.*
    from {{ ref('int_site_hours_priced') }} as priced
    where {{ wattlake.restated_rows(
        ref('int_site_hours_priced'), 'reading_month_local',
        alias='priced', also=changed_months
    ) }}
),

plans as (
    select * from {{ ref('tariff_plans') }}
),

blocks as (
    select * from {{ ref('tariff_tiered_blocks') }}
),

sites as (
    select * from {{ ref('dim_sites') }}
),

daily_energy as (
    -- one tariff a day: the hours of a local day share it
    select
        hours.site_id,
        hours.reading_date_local,
        hours.tariff_id,
        hours.is_default_tariff,
        sum(hours.energy_kwh) as energy_kwh,
        sum(hours.imported_kwh) as imported_kwh,
        sum(hours.exported_kwh) as exported_kwh,
        sum(case when hours.band_name = 'off_peak' then hours.imported_kwh else 0 end)
            as off_peak_kwh,
        sum(case when hours.band_name = 'standard' then hours.imported_kwh else 0 end)
            as standard_kwh,
        sum(case when hours.band_name = 'peak' then hours.imported_kwh else 0 end)
            as peak_kwh,
        max(hours.avg_demand_kw) as peak_hourly_demand_kw,
        sum(hours.energy_charge_gbp) as energy_charge_gbp,
        sum(hours.co2_kg) as co2_kg,
        count(*) as hour_count  -- 23 or 25 on DST change days, by design
    from hours
    group by
        hours.site_id,
        hours.reading_date_local,
        hours.tariff_id,
        hours.is_default_tariff
),

{%- set month_start -%}
    cast({{ dbt.date_trunc('month', 'daily_energy.reading_date_local') }} as date)
{%- endset %}

months as (
    select
        daily_energy.site_id,
        daily_energy.reading_date_local,
        daily_energy.tariff_id,
        daily_energy.is_default_tariff,
        daily_energy.energy_kwh,
        daily_energy.imported_kwh,
        daily_energy.exported_kwh,
        daily_energy.off_peak_kwh,
        daily_energy.standard_kwh,
        daily_energy.peak_kwh,
        daily_energy.peak_hourly_demand_kw,
        daily_energy.energy_charge_gbp,
        daily_energy.co2_kg,
        daily_energy.hour_count,
        {{ month_start }} as reading_month_local,
        {{ dbt.datediff(month_start, dbt.dateadd('month', 1, month_start), 'day') }}
            as days_in_month
    from daily_energy
),

tariff_days as (
    select
        months.site_id,
        months.reading_date_local,
        months.reading_month_local,
        months.days_in_month,
        months.tariff_id,
        months.is_default_tariff,
        plans.is_tiered,
        months.energy_kwh,
        months.imported_kwh,
        months.exported_kwh,
        months.off_peak_kwh,
        months.standard_kwh,
        months.peak_kwh,
        months.peak_hourly_demand_kw,
        months.energy_charge_gbp,
        months.co2_kg,
        months.hour_count,
        cast(plans.fixed_charge_gbp_per_day as {{ wattlake.type_double() }})
            as fixed_charge_gbp_per_day,
        cast(plans.demand_charge_gbp_per_kw_month as {{ wattlake.type_double() }})
            as demand_charge_gbp_per_kw_month,
        -- the month's kWh on this tariff up to the end of the day
        sum(months.imported_kwh) over (
            partition by months.site_id, months.reading_month_local, months.tariff_id
            order by months.reading_date_local
            rows between unbounded preceding and current row
        ) as month_kwh_to_date,
        max(months.peak_hourly_demand_kw) over (
            partition by months.site_id, months.reading_month_local, months.tariff_id
        ) as tariff_month_peak_demand_kw
    from months
    left join plans
        on months.tariff_id = plans.tariff_id
),

block_charges as (
    -- the part of each block the day's kWh fall in: from where the month
    -- stood before the day to where it stands after it
    select
        tariff_days.site_id,
        tariff_days.reading_date_local,
        sum(
            (
                least(
                    tariff_days.month_kwh_to_date,
                    coalesce(blocks.block_to_kwh, tariff_days.month_kwh_to_date)
                )
                - greatest(
                    tariff_days.month_kwh_to_date - tariff_days.imported_kwh,
                    blocks.block_from_kwh
                )
            ) * cast(blocks.price_gbp_per_kwh as {{ wattlake.type_double() }})
        ) as tiered_charge_gbp
    from tariff_days
    inner join blocks
        on
            tariff_days.tariff_id = blocks.tariff_id
            and tariff_days.month_kwh_to_date > blocks.block_from_kwh
            and (
                blocks.block_to_kwh is null
                or tariff_days.month_kwh_to_date - tariff_days.imported_kwh
                < blocks.block_to_kwh
            )
    where tariff_days.is_tiered
    group by tariff_days.site_id, tariff_days.reading_date_local
),

charged as (
    select
        tariff_days.site_id,
        tariff_days.reading_date_local,
        tariff_days.reading_month_local,
        tariff_days.tariff_id,
        tariff_days.is_default_tariff,
        tariff_days.energy_kwh,
        tariff_days.imported_kwh,
        tariff_days.exported_kwh,
        tariff_days.off_peak_kwh,
        tariff_days.standard_kwh,
        tariff_days.peak_kwh,
        tariff_days.peak_hourly_demand_kw,
        tariff_days.hour_count,
        tariff_days.energy_charge_gbp,
        tariff_days.fixed_charge_gbp_per_day as fixed_charge_gbp,
        tariff_days.co2_kg,
        coalesce(block_charges.tiered_charge_gbp, 0) as tiered_charge_gbp,
        coalesce(
            greatest(tariff_days.tariff_month_peak_demand_kw, 0)
            * tariff_days.demand_charge_gbp_per_kw_month
            / tariff_days.days_in_month,
            0
        ) as demand_charge_gbp
    from tariff_days
    left join block_charges
        on
            tariff_days.site_id = block_charges.site_id
            and tariff_days.reading_date_local = block_charges.reading_date_local
),

final as (
    select
        cast(charged.site_id as {{ dbt.type_string() }}) as site_id,
        cast(sites.area_id as {{ dbt.type_string() }}) as area_id,
        cast(sites.site_type as {{ dbt.type_string() }}) as site_type,
        cast(charged.reading_date_local as date) as reading_date_local,
        cast(charged.tariff_id as {{ dbt.type_string() }}) as tariff_id,
        cast(charged.is_default_tariff as {{ dbt.type_boolean() }})
            as is_default_tariff,
        cast(charged.hour_count as {{ dbt.type_int() }}) as hour_count,
        cast(charged.energy_kwh as {{ wattlake.type_double() }}) as energy_kwh,
        cast(charged.imported_kwh as {{ wattlake.type_double() }}) as imported_kwh,
        cast(charged.exported_kwh as {{ wattlake.type_double() }}) as exported_kwh,
        cast(charged.off_peak_kwh as {{ wattlake.type_double() }}) as off_peak_kwh,
        cast(charged.standard_kwh as {{ wattlake.type_double() }}) as standard_kwh,
        cast(charged.peak_kwh as {{ wattlake.type_double() }}) as peak_kwh,
        cast(charged.peak_hourly_demand_kw as {{ wattlake.type_double() }})
            as peak_hourly_demand_kw,
        cast(charged.energy_charge_gbp as {{ wattlake.type_double() }})
            as energy_charge_gbp,
        cast(charged.tiered_charge_gbp as {{ wattlake.type_double() }})
            as tiered_charge_gbp,
        cast(charged.fixed_charge_gbp as {{ wattlake.type_double() }})
            as fixed_charge_gbp,
        cast(charged.demand_charge_gbp as {{ wattlake.type_double() }})
            as demand_charge_gbp,
        cast(
            charged.energy_charge_gbp
            + charged.tiered_charge_gbp
            + charged.fixed_charge_gbp
            + charged.demand_charge_gbp
            as {{ wattlake.type_double() }}
        ) as total_cost_gbp,
        cast(charged.co2_kg as {{ wattlake.type_double() }}) as co2_kg,
        {{ wattlake.run_timestamp() }} as restated_at_utc,
        -- the partition column goes last (Athena requires it)
        cast(charged.reading_month_local as date) as reading_month_local
    from charged
    left join sites
        on charged.site_id = sites.site_id
)

select * from final
