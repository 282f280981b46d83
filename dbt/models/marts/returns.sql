-- One row per return with its order line, product category, customer and money. customer_id
-- is the buyer (whose return rate it counts in); returned_by_customer_id the person who sent
-- it back when the OMS names someone else (a gift recipient).
with

returns as (select * from {{ ref('stg_oms__returns') }}),
order_lines as (select * from {{ ref('order_lines') }}),
accounts as (
    select identifier_value as oms_customer_id, customer_id
    from {{ ref('int_identities_stitched') }}
    where identifier_type = 'oms_customer_id' and customer_id is not null
),

final as (

    select
        returns.return_id,
        returns.order_id,
        returns.order_line_id,
        returns.product_id,
        order_lines.customer_id,
        coalesce(accounts.customer_id, order_lines.customer_id) as returned_by_customer_id,
        order_lines.channel,
        order_lines.category_level_1,
        order_lines.brand,
        returns.quantity,
        returns.return_reason,
        returns.return_reason_text,
        returns.item_condition,
        returns.is_received,
        returns.is_refunded,
        returns.refund_amount,
        order_lines.unit_price * returns.quantity as returned_value,
        order_lines.ordered_at,
        returns.requested_at,
        returns.received_at,
        date_diff('day', order_lines.ordered_at, returns.requested_at) as days_to_return,
        -- the order line is not loaded (yet): kept, listed in audit.orphans
        order_lines.order_line_id is null as has_unknown_order_line,
    from returns
    left join order_lines on returns.order_line_id = order_lines.order_line_id
    left join accounts on returns.returned_by_oms_customer_id = accounts.oms_customer_id

)

select * from final
