-- Every version of every product the PIM delivered (one row per product and updated_at), with
-- the time range it was in force. Point-in-time features read prices from here, not from the
-- latest version in stg_pim__products.
with

source as (

    select * from {{ source('pim', 'products') }}

),

renamed as (

    select
        trim(product_id) as product_id,
        trim(name) as product_name,
        nullif(trim(description), '') as product_description,
        trim(brand) as brand,
        trim(category_path) as category_path,
        nullif(trim(split_part(category_path, ' > ', 1)), '') as category_level_1,
        specs,
        is_active,
        price,
        cost,
        upper(trim(currency)) as currency,
        updated_at,
        _source_file,
        _source_line,
    from source

),

deduplicated as (

    -- the same version re-delivered: keep the latest file's copy
    select *
    from renamed
    qualify row_number() over (
        partition by product_id, updated_at
        order by _source_file desc, _source_line desc
    ) = 1

),

final as (

    select
        product_id || '@' || strftime(updated_at, '%Y-%m-%dT%H:%M:%S.%f') as product_version_id,
        *,
        updated_at as valid_from,
        lead(updated_at) over (partition by product_id order by updated_at) as valid_to,
    from deduplicated

)

select * from final
