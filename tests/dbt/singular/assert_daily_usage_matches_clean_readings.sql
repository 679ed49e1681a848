-- The daily site mart holds exactly the energy of the clean readings, site by
-- site: no reading lost or counted twice between clean readings and the mart.
-- Fails with one row per site whose totals differ by more than rounding.
with

clean_totals as (
    select
        meters.site_id,
        sum(cleaned.energy_kwh) as energy_kwh
    from {{ ref('int_readings_cleaned') }} as cleaned
    inner join {{ ref('int_meters_deduplicated') }} as meters
        on cleaned.meter_id = meters.meter_id
    group by meters.site_id
),

mart_totals as (
    select
        daily.site_id,
        sum(daily.energy_kwh) as energy_kwh
    from {{ ref('fct_site_daily_usage') }} as daily
    group by daily.site_id
),

final as (
    select
        clean_totals.energy_kwh as clean_energy_kwh,
        mart_totals.energy_kwh as mart_energy_kwh,
        coalesce(clean_totals.site_id, mart_totals.site_id) as site_id
    from clean_totals
    full outer join mart_totals
        on clean_totals.site_id = mart_totals.site_id
)

select * from final
where
    clean_energy_kwh is null
    or mart_energy_kwh is null
    or abs(clean_energy_kwh - mart_energy_kwh) > 0.001
