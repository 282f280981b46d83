-- One row per product and UTC day on which its PIM record changed: the version in force at the
-- end of that day (the day's last version). Features read a product's catalogue attributes on
-- any day as its latest row on or before that day.
with

product_versions as (select * from {{ ref('stg_pim__product_versions') }}),

final as (

    select
        product_id,
        cast(updated_at as date) as version_date,
        price,
        category_level_1,
        brand,
        is_active,
        updated_at,
    from product_versions
    qualify row_number() over (partition by product_id, cast(updated_at as date) order by updated_at desc) = 1

)

select * from final
