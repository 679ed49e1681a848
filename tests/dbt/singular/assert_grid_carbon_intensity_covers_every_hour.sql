-- The carbon profile has an intensity for each of the 12 months x 24 local
-- hours (its columns' tests keep months in 1-12 and hours in 0-23, and the
-- pairs unique). Fails with one row when any pair is missing.
with

profile as (
    select count(*) as pairs
    from {{ ref('grid_carbon_intensity') }}
)

select * from profile
where pairs != 12 * 24
