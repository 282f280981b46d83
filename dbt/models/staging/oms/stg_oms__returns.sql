with

source as (

    select * from {{ source('oms', 'returns') }}

),

renamed as (

    select
        -- ids
        trim(return_id) as return_id,
        trim(order_id) as order_id,
        trim(order_line_id) as order_line_id,
        trim(product_id) as product_id,

        -- properties
        quantity,
        lower(trim(reason)) as return_reason,
        nullif(reason_text, '') as return_reason_text,
        nullif(trim(returned_by_oms_customer_id), '') as returned_by_oms_customer_id,
        nullif(lower(trim(condition)), '') as item_condition,
        received_at is not null as is_received,
        refund_amount is not null as is_refunded,

        -- money
        refund_amount,

        -- timestamps (UTC)
        requested_at,
        received_at,

        -- lineage
        _source_file,
        _source_line,
        _loaded_at

    from source

),

deduplicated as (

    -- A return is re-sent in a later file as it progresses (received, refunded):
    -- the latest file wins, the first line within a file.
    select *
    from renamed
    qualify row_number() over (
        partition by return_id
        order by _source_file desc, _source_line asc
    ) = 1

),

final as (

    select * from deduplicated

)

select * from final
