{{ config(tags=['daily']) }}
-- Tagged daily: a view read by the daily-partitioned inventory_positions.

with

source as (

    select * from {{ source('wms', 'locations') }}

),

renamed as (

    select
        -- ids
        trim(location_id) as location_id,

        -- properties
        lower(trim(location_type)) as location_type,
        trim(name) as location_name,
        trim(city) as city,
        nullif(trim(region), '') as region,
        nullif(trim(postal_code), '') as postal_code,
        upper(trim(country)) as country,
        latitude,
        longitude,
        is_click_and_collect,

        -- lineage
        _source_file,
        _source_line,
        _loaded_at

    from source

),

deduplicated as (

    -- Each file is the full list as of its date: keep every location ever listed, in its
    -- version from the latest file (a location missing from the latest list is kept, so that
    -- older stock and orders still find it).
    select *
    from renamed
    qualify row_number() over (
        partition by location_id
        order by _source_file desc, _source_line desc
    ) = 1

),

final as (

    select * from deduplicated

)

select * from final
