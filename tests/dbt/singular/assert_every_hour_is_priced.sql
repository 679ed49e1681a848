-- Every hour with readings is priced: it has a tariff (an assignment or the
-- default of its site's type) that the tariff model knows, a time-of-use band
-- on it, a unit charge unless the tariff is tiered, and a carbon intensity.
-- Nothing is dropped or left at zero silently. Fails with one row per hour
-- that is not, saying which part is missing. (One scan of the hourly view,
-- instead of a not_null test per column.)
with

hours as (
    select * from {{ ref('int_site_hours_priced') }}
),

plans as (
    select * from {{ ref('tariff_plans') }}
),

checked as (
    select
        hours.site_id,
        hours.hour_start_utc,
        hours.reading_date_local,
        hours.tariff_id,
        case
            when hours.tariff_id is null then 'no_tariff'
            when plans.tariff_id is null then 'unknown_tariff'
            when hours.band_name is null then 'no_band'
            when hours.energy_charge_gbp is null then 'no_price'
            when hours.carbon_intensity_g_per_kwh is null then 'no_carbon_intensity'
            when hours.is_default_tariff is null then 'no_default_flag'
        end as problem
    from hours
    left join plans
        on hours.tariff_id = plans.tariff_id
)

select * from checked
where problem is not null
