-- Anomalies per site, kind and local month of their start: how many events,
-- how many hours they lasted, and the energy and money they cost (or saved).
with

anomalies as (
    select * from {{ ref('fct_anomalies') }}
),

sites as (
    select * from {{ ref('dim_sites') }}
),

dated as (
    select
        anomalies.*,
        {{ dbt.date_trunc(
            'month', wattlake.local_date('anomalies.start_utc', 'sites.time_zone')
        ) }} as month_start_local
    from anomalies
    inner join sites
        on anomalies.site_id = sites.site_id
),

final as (
    select
        dated.site_id,
        max(dated.area_id) as area_id,
        max(dated.site_type) as site_type,
        cast(dated.month_start_local as date) as reading_month_local,
        dated.anomaly_type,
        cast(count(*) as {{ dbt.type_int() }}) as event_count,
        cast(
            sum(
                case when dated.severity = 'high' then 1 else 0 end
            ) as {{ dbt.type_int() }}
        )
            as high_severity_count,
        sum(dated.duration_hours) as anomaly_hours,
        sum(dated.excess_kwh) as excess_kwh,
        sum(dated.excess_cost_gbp) as excess_cost_gbp
    from dated
    group by dated.site_id, cast(dated.month_start_local as date), dated.anomaly_type
)

select * from final
