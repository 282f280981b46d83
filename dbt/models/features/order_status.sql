-- Feature table of Feast view order_status: one row per order and status the batch learned
-- (built in intermediate/int_order_statuses_known); times as ISO 8601 UTC strings.
with

statuses as (select * from {{ ref('int_order_statuses_known') }}),

final as (

    select
        order_id,
        event_timestamp,
        customer_id,
        order_status,
        strftime(order_status_at, '%Y-%m-%dT%H:%M:%SZ') as order_status_at,
        strftime(delivered_at, '%Y-%m-%dT%H:%M:%SZ') as delivered_at,
        shipping_region,
        item_count,
        cast(total_amount as double) as order_total,
        currency,
    from statuses

)

select * from final
order by order_id, event_timestamp
