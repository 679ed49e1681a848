-- One column per site type of the `site_types` seed: the singular test
-- assert_dim_areas_counts_every_site_type fails when a type is added there
-- and not here.
with

sites as (
    select * from {{ ref('dim_sites') }}
),

meters as (
    select * from {{ ref('int_meters_deduplicated') }}
),

meters_in_service as (
    select
        meters.site_id,
        count(*) as meter_count
    from meters
    where meters.removed_on is null
    group by meters.site_id
),

area_totals as (
    -- grouped by time zone too: an area whose sites disagree on their time zone
    -- gives two rows, and the primary-key test on area_id fails
    select
        sites.area_id,
        sites.time_zone,
        max(sites.area_name) as area_name,
        count(*) as site_count,
        sum(case when sites.site_type = 'home' then 1 else 0 end)
            as home_site_count,
        sum(case when sites.site_type = 'apartment_block' then 1 else 0 end)
            as apartment_block_site_count,
        sum(case when sites.site_type = 'office' then 1 else 0 end)
            as office_site_count,
        sum(case when sites.site_type = 'mall' then 1 else 0 end)
            as mall_site_count,
        sum(case when sites.site_type = 'school' then 1 else 0 end)
            as school_site_count,
        sum(case when sites.site_type = 'hospital' then 1 else 0 end)
            as hospital_site_count,
        sum(case when sites.site_type = 'factory' then 1 else 0 end)
            as factory_site_count,
        sum(case when sites.site_type = 'distribution_zone' then 1 else 0 end)
            as distribution_zone_site_count,
        coalesce(sum(meters_in_service.meter_count), 0) as meter_count,
        sum(sites.floor_area_m2) as total_floor_area_m2,
        avg(sites.latitude) as centroid_latitude,
        avg(sites.longitude) as centroid_longitude
    from sites
    left join meters_in_service
        on sites.site_id = meters_in_service.site_id
    group by sites.area_id, sites.time_zone
),

final as (
    select
        area_totals.area_id,
        area_totals.area_name,
        area_totals.time_zone,
        cast(area_totals.site_count as {{ dbt.type_int() }}) as site_count,
        cast(area_totals.home_site_count as {{ dbt.type_int() }})
            as home_site_count,
        cast(area_totals.apartment_block_site_count as {{ dbt.type_int() }})
            as apartment_block_site_count,
        cast(area_totals.office_site_count as {{ dbt.type_int() }})
            as office_site_count,
        cast(area_totals.mall_site_count as {{ dbt.type_int() }})
            as mall_site_count,
        cast(area_totals.school_site_count as {{ dbt.type_int() }})
            as school_site_count,
        cast(area_totals.hospital_site_count as {{ dbt.type_int() }})
            as hospital_site_count,
        cast(area_totals.factory_site_count as {{ dbt.type_int() }})
            as factory_site_count,
        cast(area_totals.distribution_zone_site_count as {{ dbt.type_int() }})
            as distribution_zone_site_count,
        cast(area_totals.meter_count as {{ dbt.type_int() }}) as meter_count,
        area_totals.total_floor_area_m2,
        area_totals.centroid_latitude,
        area_totals.centroid_longitude
    from area_totals
)

select * from final
