-- Each hour of each site priced on the tariff of its local day
-- (int_site_day_tariffs: the retailer's assignment valid that day, else the
-- default tariff of the site's type). Then the hour's time-of-use band (by the
-- local wall-clock hour and the kind of day), the unit charge of the band,
-- and the CO2 of the electricity taken from the grid. Exports (net meters:
-- negative energy in the hour) are neither charged nor credited and emit
-- nothing; tiered tariffs are priced per day in fct_site_daily_cost, on the
-- month's cumulative kWh.
with

-- the stored site hours: re-adding the meter hours here cost as much again
hourly as (
    select * from {{ ref('fct_site_hourly_usage') }}
),

day_tariffs as (
    select * from {{ ref('int_site_day_tariffs') }}
),

plans as (
    select * from {{ ref('tariff_plans') }}
),

bands as (
    select * from {{ ref('tariff_time_of_use_bands') }}
),

carbon as (
    select * from {{ ref('grid_carbon_intensity') }}
),

located as (
    select
        hourly.site_id,
        hourly.hour_start_utc,
        hourly.hour_start_local,
        hourly.reading_date_local,
        hourly.reading_month_local,
        hourly.energy_kwh,
        hourly.avg_demand_kw,
        day_tariffs.tariff_id,
        day_tariffs.is_default_tariff,
        {{ wattlake.day_kind('hourly.reading_date_local') }} as day_kind,
        {{ wattlake.hour_of_day('hourly.hour_start_local') }} as hour_local,
        cast(extract(month from hourly.reading_date_local) as {{ dbt.type_int() }})
            as month_of_year,
        greatest(hourly.energy_kwh, 0) as imported_kwh,
        greatest(-hourly.energy_kwh, 0) as exported_kwh,
        hourly.restated_at_utc
    from hourly
    left join day_tariffs
        on
            hourly.site_id = day_tariffs.site_id
            and hourly.reading_date_local = day_tariffs.reading_date_local
),

final as (
    select
        located.site_id,
        located.hour_start_utc,
        located.hour_start_local,
        located.reading_date_local,
        located.reading_month_local,
        located.tariff_id,
        located.is_default_tariff,
        located.day_kind,
        located.hour_local,
        bands.band_name,
        located.energy_kwh,
        located.imported_kwh,
        located.exported_kwh,
        located.avg_demand_kw,
        carbon.carbon_intensity_g_per_kwh,
        cast(bands.price_gbp_per_kwh as {{ wattlake.type_double() }})
            as price_gbp_per_kwh,
        -- null where a tariff that is not tiered lacks a price: a test refuses it
        case
            when plans.is_tiered then 0.0
            else located.imported_kwh
                * cast(bands.price_gbp_per_kwh as {{ wattlake.type_double() }})
        end as energy_charge_gbp,
        located.imported_kwh * carbon.carbon_intensity_g_per_kwh / 1000.0 as co2_kg,
        located.restated_at_utc
    from located
    left join plans
        on located.tariff_id = plans.tariff_id
    left join bands
        on
            located.tariff_id = bands.tariff_id
            and located.day_kind = bands.day_kind
            and located.hour_local >= bands.start_hour_local
            and located.hour_local < bands.end_hour_local
    left join carbon
        on
            located.month_of_year = carbon.month_of_year
            and located.hour_local = carbon.hour_local
)

select * from final
