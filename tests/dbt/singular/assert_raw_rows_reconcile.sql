-- Every landed reading is accounted for, batch by batch:
-- landed = clean + quarantined + duplicates dropped.
-- Fails with one row per batch where rows went missing or were counted twice.
with

landed as (
    select
        readings.batch_id,
        count(*) as row_count
    from {{ ref('stg_metering__readings') }} as readings
    group by readings.batch_id
),

cleaned as (
    select
        cleaned.batch_id,
        count(*) as row_count
    from {{ ref('int_readings_cleaned') }} as cleaned
    group by cleaned.batch_id
),

quarantined as (
    select
        quarantined.batch_id,
        count(*) as row_count
    from {{ ref('int_readings_quarantined') }} as quarantined
    group by quarantined.batch_id
),

duplicates_dropped as (
    select
        validated.batch_id,
        count(*) as row_count
    from {{ ref('int_readings_validated') }} as validated
    where
        validated.quarantine_reason is null
        and validated.duplicate_rank > 1
    group by validated.batch_id
),

final as (
    select
        landed.batch_id,
        landed.row_count as landed_rows,
        coalesce(cleaned.row_count, 0) as clean_rows,
        coalesce(quarantined.row_count, 0) as quarantined_rows,
        coalesce(duplicates_dropped.row_count, 0) as duplicate_rows
    from landed
    left join cleaned
        on landed.batch_id = cleaned.batch_id
    left join quarantined
        on landed.batch_id = quarantined.batch_id
    left join duplicates_dropped
        on landed.batch_id = duplicates_dropped.batch_id
)

select * from final
where landed_rows <> clean_rows + quarantined_rows + duplicate_rows
