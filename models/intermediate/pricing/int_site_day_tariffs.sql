-- The tariff each site was on each local day with usage: the retailer's
-- assignment valid that day, else the default tariff of the site's type (no
-- assignment delivered, or a day before the first one), so a tariff change
-- mid-month prices each day by its own tariff. The one place a day's tariff
-- is decided: int_site_hours_priced prices the day's hours on it, and
-- fct_site_daily_cost restates the months whose days it now puts on another
-- tariff (a retailer's correction of a past assignment).
with

days as (
    select * from {{ ref('fct_site_daily_usage') }}
),

sites as (
    select * from {{ ref('int_sites_deduplicated') }}
),

periods as (
    select * from {{ ref('int_site_tariffs_deduplicated') }}
),

defaults as (
    select * from {{ ref('tariff_site_type_defaults') }}
),

assigned as (
    select
        days.site_id,
        days.reading_date_local,
        days.reading_month_local,
        periods.tariff_id as assigned_tariff_id
    from days
    left join periods
        on
            days.site_id = periods.site_id
            and days.reading_date_local >= periods.valid_from_local
            -- no OR here: it would turn the join into a nested loop
            and days.reading_date_local
            < coalesce(periods.valid_to_local, cast('9999-12-31' as date))
),

final as (
    select
        assigned.site_id,
        assigned.reading_date_local,
        assigned.reading_month_local,
        coalesce(assigned.assigned_tariff_id, defaults.tariff_id) as tariff_id,
        assigned.assigned_tariff_id is null as is_default_tariff
    from assigned
    left join sites
        on assigned.site_id = sites.site_id
    left join defaults
        on sites.site_type = defaults.site_type
)

select * from final
