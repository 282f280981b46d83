-- One row per cart of an identified customer: the cart as it stood at its last activity (or at
-- its order, if later). Feeds Feast view cart_features, whose online values are also pushed by the
-- shop's tracking layer on every cart change (push source cart_features_push); this table is the
-- batch history for training sets and the nightly materialization.
-- Only what was known at event_timestamp: whether the cart is later abandoned (decided
-- var cart_abandoned_after_hours after its last activity) is the label a cart-recovery model
-- predicts, so it is deliberately not a feature.
with

carts as (select * from {{ ref('carts') }} where customer_id is not null),

final as (

    select
        customer_id,
        greatest(last_activity_at, coalesce(ordered_at, last_activity_at)) as event_timestamp,
        cart_id,
        cast(cart_value as double) as cart_value,
        items_added - items_removed as cart_items,
        coalesce(max_checkout_step, 0) as cart_checkout_step,
        cast(shipping_amount_seen as double) as cart_shipping_amount_seen,
        order_id is not null as cart_ordered,
        device_type as cart_device,
    from carts
    -- two carts of one customer last touched in the same second: the later-created one
    -- describes the customer at that instant (Feast needs one row per entity and time)
    qualify row_number() over (partition by customer_id, event_timestamp order by created_at desc, cart_id desc) = 1

)

select * from final
