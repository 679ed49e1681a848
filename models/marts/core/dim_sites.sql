with

sites as (
    select * from {{ ref('int_sites_deduplicated') }}
),

site_types as (
    select * from {{ ref('site_types') }}
),

final as (
    select
        sites.site_id,
        sites.site_name,
        sites.site_type,
        site_types.site_type_name,
        site_types.sector,
        sites.area_id,
        sites.area_name,
        sites.floor_area_m2,
        sites.latitude,
        sites.longitude,
        sites.time_zone
    from sites
    left join site_types
        on sites.site_type = site_types.site_type
)

select * from final
