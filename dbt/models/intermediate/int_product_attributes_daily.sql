-- One row per product and UTC day on which its PIM record changed, with every attribute the
-- product content features describe (name, description, category levels, specs, price, cost):
-- the day's last version. The content side of int_product_versions_daily.
with

product_versions as (select * from {{ ref('stg_pim__product_versions') }}),

final as (

    select
        product_id,
        cast(updated_at as date) as version_date,
        product_name,
        product_description,
        brand,
        category_path,
        category_level_1,
        nullif(trim(split_part(category_path, ' > ', 2)), '') as category_level_2,
        nullif(trim(split_part(category_path, ' > ', 3)), '') as category_level_3,
        cast(specs as varchar) as specs_json,
        is_active,
        price,
        cost,
        currency,
        updated_at,
    from product_versions
    qualify row_number() over (partition by product_id, cast(updated_at as date) order by updated_at desc) = 1

)

select * from final
