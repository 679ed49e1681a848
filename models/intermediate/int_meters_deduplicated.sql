-- The latest delivered version of each meter: which site it measures now.
-- a table: every reading is checked against it, so it is computed once per run
{{ config(materialized='table') }}

with

meters as (
    select * from {{ ref('stg_registry__meters') }}
),

ranked as (
    select
        meters.meter_id,
        meters.site_id,
        meters.installed_on,
        meters.removed_on,
        meters.meter_type,
        meters.interval_minutes,
        meters.received_at_utc,
        row_number() over (
            partition by meters.meter_id
            order by
                meters.received_at_utc desc,
                meters.batch_id desc,
                meters.source_line desc
        ) as version_rank
    from meters
    where meters.meter_id is not null
),

final as (
    select
        ranked.meter_id,
        ranked.site_id,
        ranked.installed_on,
        ranked.removed_on,
        ranked.meter_type,
        ranked.interval_minutes,
        ranked.received_at_utc
    from ranked
    where ranked.version_rank = 1
)

select * from final
