with

source as (
    select * from {{ source('registry', 'sites') }}
),

renamed as (
    select
        ---------- ids
        nullif(trim(site_id), '') as site_id,
        nullif(trim(area_id), '') as area_id,
        batch_id,

        ---------- attributes
        site_name,
        lower(trim(site_type)) as site_type,
        area_name,
        {{ wattlake.cast_delivered('floor_area_m2', wattlake.type_double()) }}
            as floor_area_m2,
        {{ wattlake.cast_delivered('latitude', wattlake.type_double()) }} as latitude,
        {{ wattlake.cast_delivered('longitude', wattlake.type_double()) }} as longitude,
        nullif(trim(time_zone), '') as time_zone,
        address,

        ---------- lineage
        cast(received_at as {{ dbt.type_timestamp() }}) as received_at_utc,
        parse_error,
        source_line
    from source
)

select * from renamed
