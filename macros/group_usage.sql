{#- Usage of a group of sites (an area, a site type) by hour, day and month.
    The area and site-type marts are the same computation on another grouping
    column, so it is written once here and each mart is a thin model calling it.

    Demand adds up across sites drawing at the same time, so a group's demand in
    an hour is the sum of its sites' average demands in that hour, and its peak
    is the highest such hour: never a sum of the sites' own peaks, which happen
    at different times. Rows are keyed by local date as the sites' marts are; a
    group spanning several time zones has one row per local date an hour falls
    on. Incremental like the site marts (macros/incremental_by.sql). -#}

{% macro group_hourly_usage(group_column) -%}
with

site_hours as (
    select * from {{ ref('fct_site_hourly_usage') }}
),

restated as {{ wattlake.not_materialized() }} (
    select site_hours.*
    from site_hours
    where {{ wattlake.restated_rows(ref('fct_site_hourly_usage'), 'reading_date', alias='site_hours') }}
),

final as (
    select
        restated.{{ group_column }},
        restated.hour_start_utc,
        min(restated.hour_start_local) as hour_start_local,
        restated.reading_date_local,
        restated.reading_month_local,
        sum(restated.energy_kwh) as energy_kwh,
        sum(restated.avg_demand_kw) as avg_demand_kw,
        sum(
            case
                when restated.is_after_hours then restated.energy_kwh
                when not restated.is_after_hours then 0
            end
        ) as after_hours_energy_kwh,
        cast(count(*) as {{ dbt.type_int() }}) as site_count,
        {{ wattlake.run_timestamp() }} as restated_at_utc,
        restated.reading_date
    from restated
    group by
        restated.{{ group_column }},
        restated.hour_start_utc,
        restated.reading_date_local,
        restated.reading_month_local,
        restated.reading_date
)

select * from final
{%- endmacro %}

{% macro group_daily_usage(group_column, group_hourly_model) -%}
with

group_hours as (
    select * from {{ ref(group_hourly_model) }}
),

site_days as (
    select * from {{ ref('fct_site_daily_usage') }}
),

sites as (
    select * from {{ ref('dim_sites') }}
),

restated_hours as {{ wattlake.not_materialized() }} (
    select group_hours.*
    from group_hours
    where {{ wattlake.restated_rows(
        ref(group_hourly_model), 'reading_date_local',
        athena_key='reading_month_local', alias='group_hours'
    ) }}
),

restated_site_days as (
    select site_days.*
    from site_days
    where {{ wattlake.restated_rows(
        ref(group_hourly_model), 'reading_date_local',
        athena_key='reading_month_local', alias='site_days'
    ) }}
),

peak_hours as (
    select
        restated_hours.{{ group_column }},
        restated_hours.reading_date_local,
        restated_hours.avg_demand_kw,
        restated_hours.hour_start_local,
        row_number() over (
            partition by restated_hours.{{ group_column }}, restated_hours.reading_date_local
            order by restated_hours.avg_demand_kw desc, restated_hours.hour_start_utc asc
        ) as demand_rank
    from restated_hours
),

group_days as (
    select
        restated_site_days.{{ group_column }},
        restated_site_days.reading_date_local,
        restated_site_days.reading_month_local,
        sum(restated_site_days.energy_kwh) as energy_kwh,
        -- sites draw at the same time: their night base loads add up
        sum(restated_site_days.night_base_load_kw) as night_base_load_kw,
        sum(restated_site_days.after_hours_energy_kwh) as after_hours_energy_kwh,
        sum(sites.floor_area_m2) as floor_area_m2,
        max(restated_site_days.hours_in_day) as hours_in_day,
        avg(restated_site_days.coverage_pct) as coverage_pct,
        count(*) as site_count
    from restated_site_days
    inner join sites
        on restated_site_days.site_id = sites.site_id
    group by
        restated_site_days.{{ group_column }},
        restated_site_days.reading_date_local,
        restated_site_days.reading_month_local
),

final as (
    select
        group_days.{{ group_column }},
        group_days.reading_date_local,
        group_days.energy_kwh,
        peak_hours.avg_demand_kw as peak_hourly_demand_kw,
        peak_hours.hour_start_local as peak_hour_start_local,
        group_days.energy_kwh / group_days.hours_in_day
        / nullif(peak_hours.avg_demand_kw, 0) as load_factor,
        group_days.night_base_load_kw,
        group_days.after_hours_energy_kwh,
        group_days.energy_kwh / nullif(group_days.floor_area_m2, 0) as energy_kwh_per_m2,
        cast(group_days.site_count as {{ dbt.type_int() }}) as site_count,
        cast(group_days.hours_in_day as {{ dbt.type_int() }}) as hours_in_day,
        group_days.coverage_pct,
        {{ wattlake.run_timestamp() }} as restated_at_utc,
        group_days.reading_month_local
    from group_days
    inner join peak_hours
        on
            group_days.{{ group_column }} = peak_hours.{{ group_column }}
            and group_days.reading_date_local = peak_hours.reading_date_local
            and peak_hours.demand_rank = 1
)

select * from final
{%- endmacro %}

{% macro group_monthly_usage(group_column, group_daily_model) -%}
with

group_days as (
    select * from {{ ref(group_daily_model) }}
),

restated as {{ wattlake.not_materialized() }} (
    select group_days.*
    from group_days
    where {{ wattlake.restated_rows(ref(group_daily_model), 'reading_month_local', alias='group_days') }}
),

peak_days as (
    select
        restated.{{ group_column }},
        restated.reading_month_local,
        restated.peak_hour_start_local,
        row_number() over (
            partition by restated.{{ group_column }}, restated.reading_month_local
            order by restated.peak_hourly_demand_kw desc, restated.reading_date_local asc
        ) as demand_rank
    from restated
),

group_months as (
    select
        restated.{{ group_column }},
        restated.reading_month_local,
        sum(restated.energy_kwh) as energy_kwh,
        max(restated.peak_hourly_demand_kw) as peak_hourly_demand_kw,
        -- the month's hours: its days reported, plus 24 for each day missing
        sum(restated.hours_in_day) + 24 * (
            {{ dbt.datediff(
                'restated.reading_month_local',
                dbt.dateadd('month', 1, 'restated.reading_month_local'),
                'day'
            ) }} - count(*)
        ) as hours_in_month,
        avg(restated.night_base_load_kw) as night_base_load_kw,
        sum(restated.after_hours_energy_kwh) as after_hours_energy_kwh,
        sum(restated.energy_kwh_per_m2) as energy_kwh_per_m2,
        max(restated.site_count) as site_count,
        count(*) as day_count,
        avg(restated.coverage_pct) as coverage_pct
    from restated
    group by restated.{{ group_column }}, restated.reading_month_local
),

final as (
    select
        group_months.{{ group_column }},
        group_months.energy_kwh,
        group_months.peak_hourly_demand_kw,
        peak_days.peak_hour_start_local,
        group_months.energy_kwh / group_months.hours_in_month
        / nullif(group_months.peak_hourly_demand_kw, 0) as load_factor,
        group_months.night_base_load_kw,
        group_months.after_hours_energy_kwh,
        group_months.energy_kwh_per_m2,
        cast(group_months.site_count as {{ dbt.type_int() }}) as site_count,
        cast(group_months.day_count as {{ dbt.type_int() }}) as day_count,
        group_months.coverage_pct,
        {{ wattlake.run_timestamp() }} as restated_at_utc,
        group_months.reading_month_local
    from group_months
    inner join peak_days
        on
            group_months.{{ group_column }} = peak_days.{{ group_column }}
            and group_months.reading_month_local = peak_days.reading_month_local
            and peak_days.demand_rank = 1
)

select * from final
{%- endmacro %}
