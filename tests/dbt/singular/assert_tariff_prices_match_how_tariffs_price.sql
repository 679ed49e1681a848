-- A tariff prices its kWh one way: a tiered tariff by its monthly blocks (it
-- has blocks, and no band price), any other by band (a price in every band,
-- and no blocks). Fails with one row per tariff that mixes or lacks them.
with

plans as (
    select * from {{ ref('tariff_plans') }}
),

band_prices as (
    select
        bands.tariff_id,
        sum(case when bands.price_gbp_per_kwh is null then 0 else 1 end)
            as priced_bands,
        sum(case when bands.price_gbp_per_kwh is null then 1 else 0 end)
            as unpriced_bands
    from {{ ref('tariff_time_of_use_bands') }} as bands
    group by bands.tariff_id
),

block_counts as (
    select
        blocks.tariff_id,
        count(*) as blocks
    from {{ ref('tariff_tiered_blocks') }} as blocks
    group by blocks.tariff_id
),

final as (
    select
        plans.tariff_id,
        plans.is_tiered,
        coalesce(band_prices.priced_bands, 0) as priced_bands,
        coalesce(band_prices.unpriced_bands, 0) as unpriced_bands,
        coalesce(block_counts.blocks, 0) as blocks
    from plans
    left join band_prices
        on plans.tariff_id = band_prices.tariff_id
    left join block_counts
        on plans.tariff_id = block_counts.tariff_id
)

select * from final
where
    (is_tiered and (priced_bands > 0 or blocks = 0))
    or (not is_tiered and (unpriced_bands > 0 or blocks > 0))
