{#- Ordinary least squares of a site's daily kWh on the day's heating and
    cooling degree-days, from sums over centred values (portable: Redshift has
    no regr_* aggregates):
        energy_kwh = base + heating_slope * hdd + cooling_slope * cdd
    A degree-day column that never varies over the site's days cannot be
    estimated: its slope is null and the fit uses the other one alone. -#}
{#- A variance (per day) at or below this is no variation (rounding). -#}
{%- set no_variance = 1e-9 -%}

with

site_days as (
    select * from {{ ref('fct_site_daily_usage') }}
),

degree_days as (
    select * from {{ ref('fct_area_daily_degree_days') }}
),

sites as (
    select * from {{ ref('dim_sites') }}
),

observations as (
    -- days with readings in every hour and weather in every hour: a day
    -- missing hours would show less energy than its weather explains
    select
        site_days.site_id,
        site_days.reading_date_local,
        site_days.energy_kwh,
        degree_days.heating_degree_days,
        degree_days.cooling_degree_days
    from site_days
    inner join degree_days
        on
            site_days.area_id = degree_days.area_id
            and site_days.reading_date_local = degree_days.reading_date_local
    where
        degree_days.is_complete_day
        and site_days.hour_count = site_days.hours_in_day
),

means as (
    select
        observations.site_id,
        count(*) as day_count,
        min(observations.reading_date_local) as first_reading_date_local,
        max(observations.reading_date_local) as last_reading_date_local,
        avg(observations.energy_kwh) as avg_daily_energy_kwh,
        avg(observations.heating_degree_days) as avg_heating_degree_days,
        avg(observations.cooling_degree_days) as avg_cooling_degree_days
    from observations
    group by observations.site_id
),

moments as (
    -- sums of squares and cross-products about the means
    select
        observations.site_id,
        sum(
            (observations.heating_degree_days - means.avg_heating_degree_days)
            * (observations.heating_degree_days - means.avg_heating_degree_days)
        ) as s_hh,
        sum(
            (observations.cooling_degree_days - means.avg_cooling_degree_days)
            * (observations.cooling_degree_days - means.avg_cooling_degree_days)
        ) as s_cc,
        sum(
            (observations.heating_degree_days - means.avg_heating_degree_days)
            * (observations.cooling_degree_days - means.avg_cooling_degree_days)
        ) as s_hc,
        sum(
            (observations.heating_degree_days - means.avg_heating_degree_days)
            * (observations.energy_kwh - means.avg_daily_energy_kwh)
        ) as s_hy,
        sum(
            (observations.cooling_degree_days - means.avg_cooling_degree_days)
            * (observations.energy_kwh - means.avg_daily_energy_kwh)
        ) as s_cy,
        sum(
            (observations.energy_kwh - means.avg_daily_energy_kwh)
            * (observations.energy_kwh - means.avg_daily_energy_kwh)
        ) as s_yy
    from observations
    inner join means
        on observations.site_id = means.site_id
    group by observations.site_id
),

fit_terms as (
    -- which slopes the days can estimate: a term needs variation, and the fit
    -- needs more days than coefficients (else it is exact and says nothing)
    select
        means.site_id,
        means.day_count,
        moments.s_hh,
        moments.s_cc,
        moments.s_hc,
        moments.s_hy,
        moments.s_cy,
        moments.s_yy,
        moments.s_hh * moments.s_cc - moments.s_hc * moments.s_hc as determinant,
        case
            when
                moments.s_hh > {{ no_variance }} * means.day_count
                and moments.s_cc > {{ no_variance }} * means.day_count
                and means.day_count >= 4
                -- not collinear: the determinant is not ~0 relative to its terms
                and moments.s_hh * moments.s_cc - moments.s_hc * moments.s_hc
                > {{ no_variance }} * moments.s_hh * moments.s_cc
                then 'hdd_and_cdd'
            when
                moments.s_hh > {{ no_variance }} * means.day_count
                and moments.s_cc <= {{ no_variance }} * means.day_count
                and means.day_count >= 3
                then 'hdd'
            when
                moments.s_cc > {{ no_variance }} * means.day_count
                and moments.s_hh <= {{ no_variance }} * means.day_count
                and means.day_count >= 3
                then 'cdd'
            else 'none'
        end as fitted_terms
    from means
    inner join moments
        on means.site_id = moments.site_id
),

slopes as (
    select
        fit_terms.site_id,
        fit_terms.fitted_terms,
        fit_terms.s_hy,
        fit_terms.s_cy,
        fit_terms.s_yy,
        case fit_terms.fitted_terms
            when 'hdd_and_cdd'
                then
                    (fit_terms.s_cc * fit_terms.s_hy - fit_terms.s_hc * fit_terms.s_cy)
                    / fit_terms.determinant
            when 'hdd' then fit_terms.s_hy / fit_terms.s_hh
        end as heating_kwh_per_degree_day,
        case fit_terms.fitted_terms
            when 'hdd_and_cdd'
                then
                    (fit_terms.s_hh * fit_terms.s_cy - fit_terms.s_hc * fit_terms.s_hy)
                    / fit_terms.determinant
            when 'cdd' then fit_terms.s_cy / fit_terms.s_cc
        end as cooling_kwh_per_degree_day
    from fit_terms
),

final as (
    -- every site, also those without a day to fit (day_count 0)
    select
        sites.site_id,
        sites.area_id,
        sites.site_type,
        cast(coalesce(means.day_count, 0) as {{ dbt.type_int() }}) as day_count,
        means.first_reading_date_local,
        means.last_reading_date_local,
        means.avg_daily_energy_kwh,
        means.avg_heating_degree_days,
        means.avg_cooling_degree_days,
        coalesce(slopes.fitted_terms, 'none') as fitted_terms,
        case
            when slopes.fitted_terms <> 'none'
                then
                    means.avg_daily_energy_kwh
                    - coalesce(slopes.heating_kwh_per_degree_day, 0)
                    * means.avg_heating_degree_days
                    - coalesce(slopes.cooling_kwh_per_degree_day, 0)
                    * means.avg_cooling_degree_days
        end as base_load_kwh_per_day,
        slopes.heating_kwh_per_degree_day,
        slopes.cooling_kwh_per_degree_day,
        -- explained / total sum of squares; null when the energy never varies
        case
            when
                slopes.fitted_terms <> 'none'
                and slopes.s_yy > {{ no_variance }} * means.day_count
                then
                    (
                        coalesce(slopes.heating_kwh_per_degree_day * slopes.s_hy, 0)
                        + coalesce(slopes.cooling_kwh_per_degree_day * slopes.s_cy, 0)
                    )
                    / slopes.s_yy
        end as r_squared
    from sites
    left join means
        on sites.site_id = means.site_id
    left join slopes
        on sites.site_id = slopes.site_id
)

select * from final
