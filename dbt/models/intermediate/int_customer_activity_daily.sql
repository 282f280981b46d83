-- One row per customer and UTC day with any activity: orders, returns, browsing, support, email.
with

orders as (select * from {{ ref('orders') }}),
order_lines as (select * from {{ ref('order_lines') }}),
returns as (select * from {{ ref('stg_oms__returns') }}),
web_events as (select * from {{ ref('int_web_events_attributed') }}),
support_tickets as (select * from {{ ref('stg_crm__support_tickets') }}),
email_events as (select * from {{ ref('stg_crm__email_events') }}),
identities as (select * from {{ ref('int_identities_stitched') }} where customer_id is not null),

crm_customer_ids as (

    select identifier_value as crm_customer_id, customer_id
    from identities where identifier_type = 'crm_customer_id'

),

order_days as (

    select customer_id, order_date as activity_date,
           count(*) as orders, sum(total_amount) as revenue
    from orders
    where not is_cancelled and customer_id is not null
    group by all

),

unit_days as (

    select customer_id, order_date as activity_date, sum(quantity) as units_bought
    from order_lines
    where not is_cancelled and customer_id is not null
    group by all

),

return_days as (

    select orders.customer_id, cast(returns.requested_at as date) as activity_date,
           sum(returns.quantity) as units_returned
    from returns
    inner join orders on returns.order_id = orders.order_id
    where orders.customer_id is not null
    group by all

),

web_days as (

    select customer_id, event_date as activity_date,
           count(*) filter (where event_name = {{ event_name('product_viewed') }}) as product_views,
           count(*) filter (where event_name = {{ event_name('product_added') }}) as add_to_carts,
           count(*) filter (where event_name = {{ event_name('products_searched') }}) as searches,
           count(*) as web_events,
    from web_events
    where customer_id is not null
    group by all

),

ticket_days as (

    select crm_customer_ids.customer_id, cast(support_tickets.created_at as date) as activity_date,
           count(*) as support_tickets
    from support_tickets
    inner join crm_customer_ids on support_tickets.crm_customer_id = crm_customer_ids.crm_customer_id
    group by all

),

email_days as (

    select crm_customer_ids.customer_id, cast(email_events.occurred_at as date) as activity_date,
           count(*) filter (where email_events.event_type = 'open') as email_opens,
           count(*) filter (where email_events.event_type = 'click') as email_clicks,
    from email_events
    inner join crm_customer_ids on email_events.crm_customer_id = crm_customer_ids.crm_customer_id
    group by all

),

activity_keys as (

    select customer_id, activity_date from order_days
    union select customer_id, activity_date from return_days
    union select customer_id, activity_date from web_days
    union select customer_id, activity_date from ticket_days
    union select customer_id, activity_date from email_days

),

final as (

    select
        activity_keys.customer_id,
        activity_keys.activity_date,
        coalesce(order_days.orders, 0) as orders,
        coalesce(order_days.revenue, 0) as revenue,
        coalesce(unit_days.units_bought, 0) as units_bought,
        coalesce(return_days.units_returned, 0) as units_returned,
        coalesce(web_days.product_views, 0) as product_views,
        coalesce(web_days.add_to_carts, 0) as add_to_carts,
        coalesce(web_days.searches, 0) as searches,
        coalesce(web_days.web_events, 0) as web_events,
        coalesce(ticket_days.support_tickets, 0) as support_tickets,
        coalesce(email_days.email_opens, 0) as email_opens,
        coalesce(email_days.email_clicks, 0) as email_clicks,
    from activity_keys
    left join order_days using (customer_id, activity_date)
    left join unit_days using (customer_id, activity_date)
    left join return_days using (customer_id, activity_date)
    left join web_days using (customer_id, activity_date)
    left join ticket_days using (customer_id, activity_date)
    left join email_days using (customer_id, activity_date)

)

select * from final
