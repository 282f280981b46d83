with

source as (

    select * from {{ source('pim', 'products') }}

),

renamed as (

    select
        -- ids
        trim(product_id) as product_id,

        -- properties
        trim(name) as product_name,
        trim(brand) as brand,
        nullif(trim(description), '') as product_description,
        trim(category_path) as category_path,
        specs,
        is_active,

        -- money
        price,
        cost,
        upper(trim(currency)) as currency,

        -- timestamps (UTC)
        launched_at,
        updated_at,

        -- lineage
        _source_file,
        _source_line,
        _loaded_at

    from source

),

deduplicated as (

    -- Upserts: the latest updated_at wins; on a tie, the latest file and line.
    select *
    from renamed
    qualify row_number() over (
        partition by product_id
        order by updated_at desc, _source_file desc, _source_line desc
    ) = 1

),

categorised as (

    select
        *,
        nullif(trim(split_part(category_path, ' > ', 1)), '') as category_level_1,
        nullif(trim(split_part(category_path, ' > ', 2)), '') as category_level_2,
        nullif(trim(split_part(category_path, ' > ', 3)), '') as category_level_3

    from deduplicated

),

final as (

    select
        product_id,
        product_name,
        brand,
        product_description,
        category_path,
        category_level_1,
        category_level_2,
        category_level_3,
        specs,
        is_active,
        price,
        cost,
        currency,
        launched_at,
        updated_at,
        _source_file,
        _source_line,
        _loaded_at

    from categorised

)

select * from final
