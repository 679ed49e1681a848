with

source as (
    select * from {{ source('registry', 'meters') }}
),

renamed as (
    select
        ---------- ids
        nullif(trim(meter_id), '') as meter_id,
        nullif(trim(site_id), '') as site_id,
        batch_id,

        ---------- attributes
        {{ wattlake.cast_delivered('installed_on', 'date') }} as installed_on,
        {{ wattlake.cast_delivered('removed_on', 'date') }} as removed_on,
        -- import: consumption only; net: negative readings are exports (rooftop solar)
        coalesce(lower(nullif(trim(meter_type), '')), 'import') as meter_type,
        {{ wattlake.cast_delivered('interval_minutes', dbt.type_int()) }}
            as interval_minutes,

        ---------- lineage
        cast(received_at as {{ dbt.type_timestamp() }}) as received_at_utc,
        parse_error,
        source_line
    from source
)

select * from renamed
