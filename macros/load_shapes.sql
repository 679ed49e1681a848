{#- Load shapes of a group of sites (an area, a site type): "when does the city
    use most". The area and site-type marts are the same computation on another
    grouping column (as in macros/group_usage.sql), so it is written once here
    and each mart is a thin model calling it.

    They read the group's hourly usage mart. A clock hour's kWh is its average
    kW; averages run over the clock hours that exist, so the autumn DST day
    brings local 01:00 twice and the spring one none. -#}

{#- The group's clock hours: one row per group and UTC hour. A UTC hour split
    between two local dates (half-hour time zones) comes back together. -#}
{% macro _group_clock_hours(group_column, group_hourly_model) -%}
group_hours as (
    select * from {{ ref(group_hourly_model) }}
),

calendar as (
    select * from {{ ref('dim_date') }}
),

clock_hours as (
    select
        group_hours.{{ group_column }},
        group_hours.hour_start_utc,
        min(group_hours.hour_start_local) as hour_start_local,
        -- energy over one hour: kWh / 1 h
        sum(group_hours.energy_kwh) as demand_kw,
        max(group_hours.site_count) as site_count
    from group_hours
    group by group_hours.{{ group_column }}, group_hours.hour_start_utc
),

local_clock_hours as (
    select
        clock_hours.{{ group_column }},
        clock_hours.demand_kw,
        clock_hours.site_count,
        cast(clock_hours.hour_start_local as date) as date_local,
        {{ wattlake.hour_of_day('clock_hours.hour_start_local') }} as hour_of_day_local
    from clock_hours
)
{%- endmacro %}

{% macro group_load_profile_weekday_hour(group_column, group_hourly_model) -%}
with

{{ wattlake._group_clock_hours(group_column, group_hourly_model) }},

profile as (
    select
        local_clock_hours.{{ group_column }},
        calendar.iso_weekday as iso_weekday_local,
        calendar.weekday_name,
        local_clock_hours.hour_of_day_local,
        avg(local_clock_hours.demand_kw) as avg_demand_kw,
        avg(local_clock_hours.demand_kw / local_clock_hours.site_count)
            as avg_demand_kw_per_site,
        max(local_clock_hours.demand_kw) as peak_hourly_demand_kw,
        count(*) as hour_count,
        min(local_clock_hours.date_local) as first_reading_date_local,
        max(local_clock_hours.date_local) as last_reading_date_local
    from local_clock_hours
    inner join calendar
        on local_clock_hours.date_local = calendar.date_day
    group by
        local_clock_hours.{{ group_column }},
        calendar.iso_weekday,
        calendar.weekday_name,
        local_clock_hours.hour_of_day_local
),

final as (
    select
        profile.{{ group_column }},
        profile.iso_weekday_local,
        profile.weekday_name,
        profile.hour_of_day_local,
        profile.avg_demand_kw,
        profile.avg_demand_kw_per_site,
        profile.peak_hourly_demand_kw,
        cast(profile.hour_count as {{ dbt.type_int() }}) as hour_count,
        profile.first_reading_date_local,
        profile.last_reading_date_local
    from profile
)

select * from final
{%- endmacro %}

{% macro group_load_profile_month_hour(group_column, group_hourly_model) -%}
with

{{ wattlake._group_clock_hours(group_column, group_hourly_model) }},

profile as (
    select
        local_clock_hours.{{ group_column }},
        calendar.month_start_date as reading_month_local,
        local_clock_hours.hour_of_day_local,
        avg(local_clock_hours.demand_kw) as avg_demand_kw,
        avg(local_clock_hours.demand_kw / local_clock_hours.site_count)
            as avg_demand_kw_per_site,
        max(local_clock_hours.demand_kw) as peak_hourly_demand_kw,
        count(*) as hour_count
    from local_clock_hours
    inner join calendar
        on local_clock_hours.date_local = calendar.date_day
    group by
        local_clock_hours.{{ group_column }},
        calendar.month_start_date,
        local_clock_hours.hour_of_day_local
),

final as (
    select
        profile.{{ group_column }},
        profile.reading_month_local,
        profile.hour_of_day_local,
        profile.avg_demand_kw,
        profile.avg_demand_kw_per_site,
        profile.peak_hourly_demand_kw,
        cast(profile.hour_count as {{ dbt.type_int() }}) as hour_count
    from profile
)

select * from final
{%- endmacro %}

{#- A group's energy per local month against the month before and the same
    month a year before. Joined on the exact month, so a month without data
    gives nulls and a gap is never bridged to an older month. The percentage is
    of the comparison month's absolute energy (a net exporter can be negative). -#}
{% macro group_monthly_usage_comparison(group_column, group_monthly_model) -%}
with

group_months as (
    select * from {{ ref(group_monthly_model) }}
),

calendar as (
    select * from {{ ref('dim_date') }}
),

month_lengths as (
    select
        calendar.month_start_date,
        count(*) as days_in_month
    from calendar
    group by calendar.month_start_date
),

comparisons as (
    select
        group_months.{{ group_column }},
        group_months.reading_month_local,
        group_months.energy_kwh,
        group_months.day_count,
        group_months.site_count,
        month_lengths.days_in_month,
        previous_month.energy_kwh as previous_month_energy_kwh,
        previous_month.day_count as previous_month_day_count,
        same_month_last_year.energy_kwh as same_month_last_year_energy_kwh,
        same_month_last_year.day_count as same_month_last_year_day_count
    from group_months
    inner join month_lengths
        on group_months.reading_month_local = month_lengths.month_start_date
    left join group_months as previous_month
        on
            group_months.{{ group_column }} = previous_month.{{ group_column }}
            and cast(
                {{ dbt.dateadd('month', -1, 'group_months.reading_month_local') }} as date
            ) = previous_month.reading_month_local
    left join group_months as same_month_last_year
        on
            group_months.{{ group_column }} = same_month_last_year.{{ group_column }}
            and cast(
                {{ dbt.dateadd('year', -1, 'group_months.reading_month_local') }} as date
            ) = same_month_last_year.reading_month_local
),

final as (
    select
        comparisons.{{ group_column }},
        comparisons.reading_month_local,
        comparisons.energy_kwh,
        cast(comparisons.day_count as {{ dbt.type_int() }}) as day_count,
        comparisons.day_count = comparisons.days_in_month as is_complete_month,
        cast(comparisons.site_count as {{ dbt.type_int() }}) as site_count,
        comparisons.previous_month_energy_kwh,
        cast(comparisons.previous_month_day_count as {{ dbt.type_int() }})
            as previous_month_day_count,
        comparisons.energy_kwh - comparisons.previous_month_energy_kwh
            as change_from_previous_month_kwh,
        100.0
        * (comparisons.energy_kwh - comparisons.previous_month_energy_kwh)
        / nullif(abs(comparisons.previous_month_energy_kwh), 0)
            as change_from_previous_month_pct,
        comparisons.same_month_last_year_energy_kwh,
        cast(comparisons.same_month_last_year_day_count as {{ dbt.type_int() }})
            as same_month_last_year_day_count,
        comparisons.energy_kwh - comparisons.same_month_last_year_energy_kwh
            as change_from_same_month_last_year_kwh,
        100.0
        * (comparisons.energy_kwh - comparisons.same_month_last_year_energy_kwh)
        / nullif(abs(comparisons.same_month_last_year_energy_kwh), 0)
            as change_from_same_month_last_year_pct
    from comparisons
)

select * from final
{%- endmacro %}
