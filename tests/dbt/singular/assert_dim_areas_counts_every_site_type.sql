-- Fails with every area whose per-type site counts do not add up to its site
-- count: a site type was added to the site_types seed without its column in
-- dim_areas.
select
    dim_areas.area_id,
    dim_areas.site_count,
    dim_areas.home_site_count
    + dim_areas.apartment_block_site_count
    + dim_areas.office_site_count
    + dim_areas.mall_site_count
    + dim_areas.school_site_count
    + dim_areas.hospital_site_count
    + dim_areas.factory_site_count
    + dim_areas.distribution_zone_site_count as typed_site_count
from {{ ref('dim_areas') }} as dim_areas
where
    dim_areas.site_count
    <> dim_areas.home_site_count
    + dim_areas.apartment_block_site_count
    + dim_areas.office_site_count
    + dim_areas.mall_site_count
    + dim_areas.school_site_count
    + dim_areas.hospital_site_count
    + dim_areas.factory_site_count
    + dim_areas.distribution_zone_site_count
