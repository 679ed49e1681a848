-- A site the retailer has delivered no tariff for is priced on the default
-- tariff of its type, so every site type needs one. Fails with one row per
-- site type without a default.
with

site_types as (
    select * from {{ ref('site_types') }}
),

defaults as (
    select * from {{ ref('tariff_site_type_defaults') }}
)

select site_types.site_type
from site_types
left join defaults
    on site_types.site_type = defaults.site_type
where defaults.site_type is null
