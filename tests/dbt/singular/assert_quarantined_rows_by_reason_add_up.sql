-- Fails with the reasons whose quarantined rows in the dashboard mart differ
-- from the row-level quarantine.
with

by_reason as (
    select * from {{ ref('fct_quarantined_rows_by_reason') }}
),

quarantined as (
    select * from {{ ref('int_readings_quarantined') }}
),

mart_totals as (
    select
        by_reason.quarantine_reason,
        sum(by_reason.quarantined_row_count) as row_count
    from by_reason
    group by by_reason.quarantine_reason
),

row_totals as (
    select
        quarantined.quarantine_reason,
        count(*) as row_count
    from quarantined
    group by quarantined.quarantine_reason
),

final as (
    select
        mart_totals.row_count as mart_row_count,
        row_totals.row_count as quarantined_row_count,
        coalesce(mart_totals.quarantine_reason, row_totals.quarantine_reason)
            as quarantine_reason
    from mart_totals
    full outer join row_totals
        on mart_totals.quarantine_reason = row_totals.quarantine_reason
    where
        mart_totals.row_count is null
        or row_totals.row_count is null
        or mart_totals.row_count != row_totals.row_count
)

select * from final
