-- The retailer's tariff assignments as periods: one row per site and first
-- day, the latest delivered version winning (a retailer may correct an
-- assignment by sending it again), valid until the site's next assignment.
with

site_tariffs as (
    select * from {{ ref('stg_tariffs__site_tariffs') }}
),

ranked as (
    select
        site_tariffs.site_id,
        site_tariffs.tariff_id,
        site_tariffs.valid_from_local,
        site_tariffs.batch_id,
        site_tariffs.received_at_utc,
        row_number() over (
            partition by site_tariffs.site_id, site_tariffs.valid_from_local
            order by
                site_tariffs.received_at_utc desc,
                site_tariffs.batch_id desc,
                site_tariffs.source_line desc
        ) as version_rank
    from site_tariffs
    -- rows without a site or a date cannot be placed; staging tests refuse them
    where
        site_tariffs.site_id is not null
        and site_tariffs.valid_from_local is not null
),

final as (
    select
        ranked.site_id,
        ranked.tariff_id,
        ranked.valid_from_local,
        ranked.batch_id,
        ranked.received_at_utc,
        lead(ranked.valid_from_local) over (
            partition by ranked.site_id
            order by ranked.valid_from_local
        ) as valid_to_local
    from ranked
    where ranked.version_rank = 1
)

select * from final
