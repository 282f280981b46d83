-- One row per content impression under a content test: a product page view showing a variant of
-- the page's copy (web), or a newsletter send with a variant of its subject line (CRM). Each
-- outcome carries the time it happened, so a daily count only uses what was known by then:
-- web: the page's add-to-cart in the same session (the add fired on the page viewed) and a later
-- order in that session; email: first open and click of the send, and an add-to-cart / order in
-- a session the customer came to through the campaign's link (stamped at the session's end).
-- The reward a bandit learns from (succeeded_at): the add-to-cart for product-page copy, the
-- open for a subject line. The segment is the customer's tenure at the impression: 'returning'
-- when an order was placed before it, else 'new' (anonymous visitors included).
with

web_events as (select * from {{ ref('int_web_events_attributed') }}),
email_events as (select * from {{ ref('stg_crm__email_events') }}),
sessions as (select * from {{ ref('sessions') }}),
orders as (select * from {{ ref('orders') }}),
identities as (select * from {{ ref('int_identities_stitched') }} where customer_id is not null),

page_views as (

    select web_events.*, sessions.session_id,
    from web_events
    left join sessions
        on sessions.anonymous_id = web_events.anonymous_id
        and web_events.event_at between sessions.started_at and sessions.ended_at
    where web_events.event_type = 'page'

),

session_adds as (

    select sessions.session_id, web_events.page_path, web_events.event_at,
    from web_events
    inner join sessions
        on sessions.anonymous_id = web_events.anonymous_id
        and web_events.event_at between sessions.started_at and sessions.ended_at
    where web_events.event_name = {{ event_name('product_added') }}

),

session_orders as (

    select sessions.session_id, web_events.event_at,
    from web_events
    inner join sessions
        on sessions.anonymous_id = web_events.anonymous_id
        and web_events.event_at between sessions.started_at and sessions.ended_at
    where web_events.event_name = {{ event_name('order_completed') }}

),

page_impressions as (

    select
        page_views.event_id as impression_id,
        page_views.content_variant_id as variant_id,
        'product_page_copy' as content_kind,
        coalesce(page_views.product_id, page_views.page_path) as content_id,
        'web' as channel,
        page_views.customer_id,
        page_views.event_at as impressed_at,
        page_views.session_id,
        -- a product page has no click of its own: its call to action is the add-to-cart
        cast(null as timestamp) as clicked_at,
        (select min(a.event_at) from session_adds as a
         where a.session_id = page_views.session_id and a.page_path = page_views.page_path
           and a.event_at >= page_views.event_at) as added_to_cart_at,
    from page_views
    where page_views.content_variant_id is not null

),

page_outcomes as (

    select
        page_impressions.*,
        (select min(o.event_at) from session_orders as o
         where o.session_id = page_impressions.session_id and o.event_at >= page_impressions.added_to_cart_at) as converted_at,
        page_impressions.added_to_cart_at as succeeded_at,
    from page_impressions

),

sends as (

    select
        email_events.email_event_id as impression_id,
        email_events.content_variant_id as variant_id,
        'email_subject_line' as content_kind,
        email_events.campaign_id as content_id,
        'email' as channel,
        identities.customer_id,
        email_events.crm_customer_id,
        email_events.occurred_at as impressed_at,
    from email_events
    left join identities
        on identities.identifier_type = 'crm_customer_id' and identities.identifier_value = email_events.crm_customer_id
    where email_events.event_type = 'send' and email_events.content_variant_id is not null
    qualify row_number() over (partition by email_events.crm_customer_id, email_events.campaign_id
                               order by email_events.occurred_at, email_events.email_event_id) = 1

),

send_outcomes as (

    select
        sends.* exclude (crm_customer_id),
        (select min(e.occurred_at) from email_events as e
         where e.crm_customer_id = sends.crm_customer_id and e.campaign_id = sends.content_id
           and e.event_type = 'click' and e.occurred_at >= sends.impressed_at) as clicked_at,
        (select min(s.ended_at) from sessions as s
         where s.customer_id = sends.customer_id and s.utm_medium = 'email' and s.utm_campaign = sends.content_id
           and s.started_at >= sends.impressed_at and s.add_to_carts > 0) as added_to_cart_at,
        (select min(s.ended_at) from sessions as s
         where s.customer_id = sends.customer_id and s.utm_medium = 'email' and s.utm_campaign = sends.content_id
           and s.started_at >= sends.impressed_at and s.has_order) as converted_at,
        (select min(e.occurred_at) from email_events as e
         where e.crm_customer_id = sends.crm_customer_id and e.campaign_id = sends.content_id
           and e.event_type = 'open' and e.occurred_at >= sends.impressed_at) as succeeded_at,
    from sends

),

impressions as (

    select impression_id, variant_id, content_kind, content_id, channel, customer_id, impressed_at,
           clicked_at, added_to_cart_at, converted_at, succeeded_at,
    from page_outcomes
    union all
    select impression_id, variant_id, content_kind, content_id, channel, customer_id, impressed_at,
           clicked_at, added_to_cart_at, converted_at, succeeded_at,
    from send_outcomes

),

first_orders as (

    select customer_id, min(ordered_at) as first_ordered_at,
    from orders
    where customer_id is not null
    group by customer_id

),

final as (

    select
        impressions.impression_id,
        impressions.variant_id,
        impressions.content_kind,
        impressions.content_id,
        impressions.channel,
        impressions.customer_id,
        case
            when first_orders.first_ordered_at < impressions.impressed_at then 'returning'
            else 'new'
        end as segment,
        impressions.impressed_at,
        cast(impressions.impressed_at as date) as impression_date,
        impressions.clicked_at,
        impressions.added_to_cart_at,
        impressions.converted_at,
        impressions.succeeded_at,
    from impressions
    left join first_orders on first_orders.customer_id = impressions.customer_id

)

select * from final
