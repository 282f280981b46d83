-- Feature table of Feast view customer_latest_orders: one row per customer and moment one of
-- their orders changed (placed, or a new status learned), listing their latest orders with the
-- status each had at that moment (an order's latest status row at or before it).
with

statuses as (select * from {{ ref('int_order_statuses_known') }} where customer_id is not null),

moments as (

    select distinct customer_id, event_timestamp from statuses

),

known_at_moment as (

    select moments.customer_id, moments.event_timestamp, statuses.order_id, statuses.ordered_at,
           statuses.order_status,
    from moments
    inner join statuses
        on statuses.customer_id = moments.customer_id and statuses.event_timestamp <= moments.event_timestamp
    qualify row_number() over (
        partition by moments.customer_id, moments.event_timestamp, statuses.order_id
        order by statuses.event_timestamp desc
    ) = 1

),

ranked as (

    select *, row_number() over (
        partition by customer_id, event_timestamp order by ordered_at desc, order_id desc
    ) as recency_rank,
    from known_at_moment

),

final as (

    select
        customer_id,
        event_timestamp,
        string_agg(order_id, ',' order by recency_rank) filter (where recency_rank <= {{ var('latest_orders_listed') }})
            as latest_order_ids,
        string_agg(order_status, ',' order by recency_rank) filter (where recency_rank <= {{ var('latest_orders_listed') }})
            as latest_order_statuses,
        cast(count(*) filter (where order_status in ('placed', 'shipped')) as bigint) as open_orders,
        strftime(max(ordered_at), '%Y-%m-%dT%H:%M:%SZ') as last_ordered_at,
    from ranked
    group by all

)

select * from final
order by customer_id, event_timestamp
