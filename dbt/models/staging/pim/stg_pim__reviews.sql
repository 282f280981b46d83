with

source as (

    select * from {{ source('pim', 'reviews') }}

),

renamed as (

    select
        -- ids
        trim(review_id) as review_id,
        trim(product_id) as product_id,
        nullif(trim(oms_customer_id), '') as oms_customer_id,

        -- properties
        rating,
        nullif(trim(title), '') as review_title,
        nullif(trim(body), '') as review_body,
        is_verified_purchase,

        -- timestamps (UTC)
        submitted_at,

        -- lineage
        _source_file,
        _source_line,
        _loaded_at

    from source

),

deduplicated as (

    -- Re-delivered reviews: the latest file wins, the first line within a file.
    select *
    from renamed
    qualify row_number() over (
        partition by review_id
        order by _source_file desc, _source_line asc
    ) = 1

),

final as (

    select * from deduplicated

)

select * from final
