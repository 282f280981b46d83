with

source as (

    select * from {{ source('oms', 'order_lines') }}

),

renamed as (

    select
        -- ids
        trim(order_line_id) as order_line_id,
        trim(order_id) as order_id,
        trim(product_id) as product_id,

        -- properties
        line_number,
        quantity,

        -- money
        unit_price,
        discount_amount,
        cast(quantity * unit_price - discount_amount as decimal(12, 2)) as line_amount,

        -- lineage
        _source_file,
        _source_line,
        _loaded_at

    from source

),

deduplicated as (

    -- Re-delivered lines: the latest file wins, the first line within a file.
    select *
    from renamed
    qualify row_number() over (
        partition by order_line_id
        order by _source_file desc, _source_line asc
    ) = 1

),

final as (

    select * from deduplicated

)

select * from final
