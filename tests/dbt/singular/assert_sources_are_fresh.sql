-- Warns (never fails the build) with every source table that is late or stale
-- by the thresholds of the wattlake_freshness var. Freshness is the operators'
-- signal, not a reason to stop publishing marts: a replay of historical data,
-- or a lake rebuilt long after its last delivery, must still build.
{{ config(severity='warn') }}

select
    freshness.source_name,
    freshness.table_name,
    freshness.last_received_at_utc,
    freshness.hours_since_last_received,
    freshness.freshness_status
from {{ ref('fct_source_freshness') }} as freshness
where freshness.freshness_status <> 'fresh'
