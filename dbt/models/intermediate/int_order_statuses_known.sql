-- Each order's statuses as the batch learns them: `placed` from the file of its order date, and
-- its current status from the latest file that sent it (the OMS re-sends an order when its status
-- changes; staging keeps that latest version). Stamped event_timestamp = the midnight after the
-- file's date (known_after_day), so a training row never sees a status before its file arrived.
-- Shared by the features order_status and customer_latest_orders.
with

orders as (select * from {{ ref('orders') }}),
deliveries as (select order_id, _delivery_date from {{ ref('stg_oms__orders') }}),
order_lines as (select * from {{ ref('order_lines') }}),

items as (

    select order_id, cast(sum(quantity) as bigint) as item_count from order_lines group by all

),

described as (

    select orders.*, deliveries._delivery_date, coalesce(items.item_count, 0) as item_count,
    from orders
    left join deliveries using (order_id)
    left join items using (order_id)

),

placed as (

    select order_id, customer_id, ordered_at, 'placed' as order_status, ordered_at as order_status_at,
           cast(null as timestamp) as delivered_at, shipping_region, item_count, total_amount, currency,
           {{ known_after_day('order_date') }} as event_timestamp,
    from described
    where status <> 'placed'

),

current_status as (

    select order_id, customer_id, ordered_at, status as order_status,
           -- when the status began: delivery has its own time; otherwise the file that brought it
           case when status = 'placed' then ordered_at
                when status = 'delivered' and delivered_at is not null then delivered_at
                else greatest(ordered_at, cast(coalesce(_delivery_date, order_date) as timestamp)) end as order_status_at,
           case when status = 'delivered' then delivered_at end as delivered_at,
           shipping_region, item_count, total_amount, currency,
           greatest({{ known_after_day('coalesce(_delivery_date, order_date)') }},
                    {{ known_after_day("cast(coalesce(delivered_at, ordered_at) as date)") }}) as event_timestamp,
    from described

),

final as (

    select * from placed
    -- a status re-sent in the file of the order's own day replaces `placed` at the same time
    where not exists (select 1 from current_status where current_status.order_id = placed.order_id
                        and current_status.event_timestamp = placed.event_timestamp)
    union all
    select * from current_status

)

select * from final
