-- One row per order line with its order's customer, time and channel, and the product's category.
-- A line whose order or product is not loaded (yet) is kept with those attributes null and flagged;
-- it is listed in audit.orphans and joins its parent in the run that has it.
with

order_lines as (select * from {{ ref('stg_oms__order_lines') }}),
orders as (select * from {{ ref('orders') }}),
products as (select * from {{ ref('products') }}),

joined as (

    select
        order_lines.order_line_id,
        order_lines.order_id,
        order_lines.line_number,
        order_lines.product_id,
        orders.customer_id,
        orders.channel,
        orders.is_cancelled,
        orders.ordered_at,
        orders.order_date,
        products.category_level_1,
        products.brand,
        order_lines.quantity,
        order_lines.unit_price,
        order_lines.discount_amount,
        order_lines.line_amount,
        orders.order_id is null as has_unknown_order,
        products.product_id is null as has_unknown_product,
    from order_lines
    left join orders on order_lines.order_id = orders.order_id
    left join products on order_lines.product_id = products.product_id

),

final as (

    select * from joined

)

select * from final
