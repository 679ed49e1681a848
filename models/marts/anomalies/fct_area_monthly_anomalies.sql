-- Anomalies per city area, site type, kind and local month: the area view of
-- fct_site_monthly_anomalies, with how many sites were affected.
with

site_months as (
    select * from {{ ref('fct_site_monthly_anomalies') }}
),

final as (
    select
        site_months.area_id,
        site_months.site_type,
        site_months.reading_month_local,
        site_months.anomaly_type,
        cast(count(*) as {{ dbt.type_int() }}) as site_count,
        cast(sum(site_months.event_count) as {{ dbt.type_int() }}) as event_count,
        cast(sum(site_months.high_severity_count) as {{ dbt.type_int() }})
            as high_severity_count,
        sum(site_months.anomaly_hours) as anomaly_hours,
        sum(site_months.excess_kwh) as excess_kwh,
        sum(site_months.excess_cost_gbp) as excess_cost_gbp
    from site_months
    group by
        site_months.area_id,
        site_months.site_type,
        site_months.reading_month_local,
        site_months.anomaly_type
)

select * from final
