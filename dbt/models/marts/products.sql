-- One row per product: the latest PIM version.
with

products as (select * from {{ ref('stg_pim__products') }}),

final as (

    select * exclude (_source_file, _source_line, _loaded_at)
    from products

)

select * from final
