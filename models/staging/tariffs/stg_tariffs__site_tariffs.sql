with

source as (
    -- an empty relation while no tariff delivery has landed (see the macro)
    select * from {{ wattlake.delivered_source('tariffs', 'tariffs') }}
),

renamed as (
    select
        ---------- ids
        nullif(trim(source.site_id), '') as site_id,
        nullif(trim(source.tariff_id), '') as tariff_id,
        source.batch_id,

        ---------- validity
        {{ wattlake.cast_delivered('source.valid_from', 'date') }} as valid_from_local,

        ---------- lineage
        cast(source.received_at as {{ dbt.type_timestamp() }}) as received_at_utc,
        source.parse_error,
        source.source_line
    from source
)

select * from renamed
