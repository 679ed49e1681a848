-- The blocks of a tiered tariff start at 0 kWh, each starts where the one
-- before ends, and only the last is open-ended. Fails with one row per block
-- that breaks this.
with

blocks as (
    select * from {{ ref('tariff_tiered_blocks') }}
),

ordered as (
    select
        blocks.tariff_id,
        blocks.block_number,
        blocks.block_from_kwh,
        blocks.block_to_kwh,
        lag(blocks.block_to_kwh) over (
            partition by blocks.tariff_id order by blocks.block_number
        ) as previous_to_kwh,
        row_number() over (
            partition by blocks.tariff_id order by blocks.block_number
        ) as position_in_tariff,
        count(*) over (partition by blocks.tariff_id) as block_count
    from blocks
)

select * from ordered
where
    (position_in_tariff = 1 and block_from_kwh != 0)
    or (
        position_in_tariff > 1
        and (previous_to_kwh is null or block_from_kwh != previous_to_kwh)
    )
    or (position_in_tariff < block_count and block_to_kwh is null)
    or (position_in_tariff = block_count and block_to_kwh is not null)
    or block_to_kwh <= block_from_kwh
