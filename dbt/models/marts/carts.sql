-- One row per cart: created -> checkout steps reached -> purchased or abandoned. A cart is
-- abandoned when it has no order and no activity for var cart_abandoned_after_hours before the
-- end of the data; until then it is active. Steps: 1 cart, 2 shipping, 3 payment, 4 review.
with

events as (select * from {{ ref('int_web_events_attributed') }}),
orders as (select * from {{ ref('orders') }}),

cart_events as (

    select * from events where cart_id is not null

),

data_end as (

    select max(event_at) as data_end_at from events

),

carts as (

    select
        cart_id,
        arg_min(anonymous_id, (event_at, event_id)) as anonymous_id,
        max(customer_id) as customer_id,
        min(event_at) as created_at,
        max(event_at) as last_activity_at,
        count(*) filter (where event_name = {{ event_name('product_added') }}) as items_added,
        count(*) filter (where event_name = {{ event_name('product_removed') }}) as items_removed,
        sum(case event_name when {{ event_name('product_added') }} then price * coalesce(quantity, 1)
                            when {{ event_name('product_removed') }} then -price * coalesce(quantity, 1) else 0 end) as cart_value,
        max(checkout_step) as max_checkout_step,
        arg_max(shipping_amount, (event_at, event_id)) filter (where shipping_amount is not null) as shipping_amount_seen,
        max(order_id) filter (where event_name = {{ event_name('order_completed') }}) as completed_order_id,
        arg_min(device_type, (event_at, event_id)) as device_type,
    from cart_events
    group by cart_id

),

with_orders as (

    select
        carts.*,
        coalesce(orders.order_id, carts.completed_order_id) as order_id,
        orders.ordered_at,
        orders.total_amount as order_total_amount,
    from carts
    left join orders on orders.cart_id = carts.cart_id

),

final as (

    select
        with_orders.cart_id,
        with_orders.anonymous_id,
        with_orders.customer_id,
        with_orders.created_at,
        with_orders.last_activity_at,
        with_orders.items_added,
        with_orders.items_removed,
        cast(with_orders.cart_value as decimal(12, 2)) as cart_value,
        with_orders.max_checkout_step,
        case with_orders.max_checkout_step
            when 1 then 'cart' when 2 then 'shipping' when 3 then 'payment' when 4 then 'review'
            else 'not_started'
        end as furthest_checkout_step,
        with_orders.shipping_amount_seen,
        with_orders.order_id,
        with_orders.ordered_at,
        with_orders.order_total_amount,
        case
            when with_orders.order_id is not null then 'purchased'
            when with_orders.last_activity_at < data_end.data_end_at - interval {{ var('cart_abandoned_after_hours') }} hours then 'abandoned'
            else 'active'
        end as cart_status,
        with_orders.order_id is null
            and with_orders.last_activity_at < data_end.data_end_at - interval {{ var('cart_abandoned_after_hours') }} hours
            as is_abandoned,
        with_orders.device_type,
    from with_orders
    cross join data_end

)

select * from final
