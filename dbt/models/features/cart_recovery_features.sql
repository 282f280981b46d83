-- One row per cart of an identified customer, next to cart_features (same key and time): what a
-- cart-recovery model adds to the cart itself. The most expensive item still in it, and who the
-- customer was when the cart was created: whether they had ordered before and their typical
-- (median) order value over the orders placed before it, so the cart's own order never counts.
-- The last activity's time is kept as epoch seconds for the request-time view
-- (feature_repo/cart_recovery.py) that turns it into minutes since at request time.
with

carts as (select * from {{ ref('carts') }} where customer_id is not null),
orders as (select * from {{ ref('orders') }}),
web_events as (select * from {{ ref('int_web_events_attributed') }}),

cart_items as (

    -- units of each product still in the cart, at the price shown when added
    select cart_id, product_id,
           sum(case event_name when {{ event_name('product_added') }} then coalesce(quantity, 1)
                               else -coalesce(quantity, 1) end) as units_in_cart,
           max(price) filter (where event_name = {{ event_name('product_added') }}) as item_price,
    from web_events
    where cart_id is not null and product_id is not null
      and event_name in ({{ event_name('product_added') }}, {{ event_name('product_removed') }})
    group by all

),

highest_item as (

    select cart_id, max(item_price) as highest_item_price
    from cart_items
    where units_in_cart > 0
    group by all

),

customer_orders as (

    select customer_id, ordered_at, total_amount
    from orders
    where customer_id is not null and not is_cancelled

),

history_before_cart as (

    select carts.cart_id,
           count(customer_orders.ordered_at) as orders_before_cart,
           median(customer_orders.total_amount) as typical_order_value,
    from carts
    left join customer_orders
        on customer_orders.customer_id = carts.customer_id
       and customer_orders.ordered_at < carts.created_at
    group by all

),

final as (

    select
        carts.customer_id,
        greatest(carts.last_activity_at, coalesce(carts.ordered_at, carts.last_activity_at)) as event_timestamp,
        carts.cart_id,
        cast(highest_item.highest_item_price as double) as cart_highest_item_price,
        carts.furthest_checkout_step as cart_furthest_checkout_step,
        history_before_cart.orders_before_cart = 0 as is_first_time_buyer,
        cast(history_before_cart.orders_before_cart as bigint) as customer_orders_before_cart,
        cast(history_before_cart.typical_order_value as double) as customer_typical_order_value,
        cast(epoch(carts.last_activity_at) as bigint) as cart_last_activity_epoch_seconds,
    from carts
    left join highest_item using (cart_id)
    inner join history_before_cart using (cart_id)
    -- the same choice as cart_features: one cart per customer and instant, the later-created
    qualify row_number() over (partition by carts.customer_id, event_timestamp order by carts.created_at desc, carts.cart_id desc) = 1

)

select * from final
