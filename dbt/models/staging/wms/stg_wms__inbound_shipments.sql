{{ config(tags=['daily']) }}
-- Tagged daily: a view read by the daily-partitioned inventory_positions.

with

source as (

    select * from {{ source('wms', 'inbound_shipments') }}

),

renamed as (

    select
        -- ids
        trim(shipment_id) as shipment_id,
        trim(product_id) as product_id,
        trim(location_id) as location_id,

        -- properties
        quantity,
        received_at is not null as is_received,

        -- timestamps (UTC)
        announced_at,
        expected_at,
        received_at,

        -- lineage
        _source_file,
        _source_line,
        _loaded_at

    from source

),

deduplicated as (

    -- A shipment is re-sent in a later file when it is received: the latest file wins,
    -- the first line within a file.
    select *
    from renamed
    qualify row_number() over (
        partition by shipment_id
        order by _source_file desc, _source_line asc
    ) = 1

),

final as (

    select * from deduplicated

)

select * from final
