{#- Alerts: what an operator is told. Events of one kind on one site are one
    alert while they keep coming back: an event starting less than
    alert_cooldown_days (wattlake_anomaly_rules) after the alert's last event
    ended is folded into that alert instead of raising a new one. An alert is
    open while its last event ended less than the cooldown before the newest
    reading the features hold. -#}
{%- set rules = var('wattlake_anomaly_rules') %}

with

anomalies as (
    select * from {{ ref('fct_anomalies') }}
),

features as (
    select * from {{ ref('stg_curated__anomaly_features') }}
),

-- the latest end among the site's earlier events of the kind
with_previous as (
    select
        anomalies.*,
        max(anomalies.end_utc) over (
            partition by anomalies.site_id, anomalies.anomaly_type
            order by anomalies.start_utc, anomalies.anomaly_id
            rows between unbounded preceding and 1 preceding
        ) as previous_end_utc
    from anomalies
),

sequenced as (
    select
        with_previous.*,
        case
            when
                {{ dbt.datediff(
                    'with_previous.previous_end_utc', 'with_previous.start_utc', 'hour'
                ) }} < 24 * {{ rules['alert_cooldown_days'] }}
                then 0
            else 1
        end as opens_alert
    from with_previous
),

numbered as (
    select
        sequenced.*,
        sum(sequenced.opens_alert) over (
            partition by sequenced.site_id, sequenced.anomaly_type
            order by sequenced.start_utc, sequenced.anomaly_id
            rows between unbounded preceding and current row
        ) as alert_number
    from sequenced
),

latest as (
    select max(features.hour_start_utc) as newest_hour_utc
    from features
),

alerts as (
    select
        numbered.site_id,
        numbered.anomaly_type,
        numbered.alert_number,
        max(numbered.area_id) as area_id,
        max(numbered.site_type) as site_type,
        min(numbered.start_utc) as opened_at_utc,
        max(numbered.end_utc) as last_seen_utc,
        count(*) as event_count,
        max(case numbered.severity when 'high' then 3 when 'medium' then 2 else 1 end)
            as severity_rank,
        sum(numbered.expected_kwh) as expected_kwh,
        sum(numbered.observed_kwh) as observed_kwh,
        sum(numbered.excess_kwh) as excess_kwh,
        sum(numbered.excess_cost_gbp) as excess_cost_gbp
    from numbered
    group by numbered.site_id, numbered.anomaly_type, numbered.alert_number
),

-- the explanation of the alert's latest event
explained as (
    select
        numbered.site_id,
        numbered.anomaly_type,
        numbered.alert_number,
        numbered.explanation,
        row_number() over (
            partition by numbered.site_id, numbered.anomaly_type, numbered.alert_number
            order by numbered.start_utc desc, numbered.anomaly_id desc
        ) as recency_in_alert
    from numbered
),

final as (
    select
        {{ wattlake.text_key([
            'alerts.site_id', 'alerts.anomaly_type', 'alerts.opened_at_utc'
        ]) }} as alert_id,
        alerts.site_id,
        alerts.area_id,
        alerts.site_type,
        alerts.anomaly_type,
        cast(alerts.opened_at_utc as {{ dbt.type_timestamp() }}) as opened_at_utc,
        cast(alerts.last_seen_utc as {{ dbt.type_timestamp() }}) as last_seen_utc,
        cast(alerts.event_count as {{ dbt.type_int() }}) as event_count,
        case alerts.severity_rank when 3 then 'high' when 2 then 'medium' else 'low' end
            as severity,
        case
            when
                {{ dbt.datediff(
                    'alerts.last_seen_utc', 'latest.newest_hour_utc', 'hour'
                ) }}
                < 24 * {{ rules['alert_cooldown_days'] }}
                then 'open'
            else 'closed'
        end as status,
        alerts.expected_kwh,
        alerts.observed_kwh,
        alerts.excess_kwh,
        alerts.excess_cost_gbp,
        explained.explanation
    from alerts
    cross join latest
    inner join explained
        on
            alerts.site_id = explained.site_id
            and alerts.anomaly_type = explained.anomaly_type
            and alerts.alert_number = explained.alert_number
            and explained.recency_in_alert = 1
)

select * from final
