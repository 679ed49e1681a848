-- The latest delivered version of each site: the registry re-sends every site
-- in each snapshot, and a later snapshot wins.
-- a table: every reading is checked against it, so it is computed once per run
{{ config(materialized='table') }}

with

sites as (
    select * from {{ ref('stg_registry__sites') }}
),

ranked as (
    select
        sites.site_id,
        sites.site_name,
        sites.site_type,
        sites.area_id,
        sites.area_name,
        sites.floor_area_m2,
        sites.latitude,
        sites.longitude,
        sites.time_zone,
        sites.received_at_utc,
        row_number() over (
            partition by sites.site_id
            order by
                sites.received_at_utc desc,
                sites.batch_id desc,
                sites.source_line desc
        ) as version_rank
    from sites
    where sites.site_id is not null
),

final as (
    select
        ranked.site_id,
        ranked.site_name,
        ranked.site_type,
        ranked.area_id,
        ranked.area_name,
        ranked.floor_area_m2,
        ranked.latitude,
        ranked.longitude,
        ranked.time_zone,
        ranked.received_at_utc
    from ranked
    where ranked.version_rank = 1
)

select * from final
