-- One row per product, UTC day and thing the product was named with that day, by kind:
--   return_reason         a return's reason (weight: units returned)
--   search_term           the site search that led to a view or add-to-cart of the product: the
--                         latest search before it in the same session (weight: sessions)
--   co_purchased_product  another product bought in the same order (weight: orders)
-- Feeds the top-n lists of product_content_features (macro top_items_as_of).
with

returns as (select * from {{ ref('stg_oms__returns') }}),
order_lines as (select * from {{ ref('order_lines') }}),
web_events as (select * from {{ ref('int_web_events_attributed') }}),
sessions as (select * from {{ ref('int_sessions') }}),

session_events as (

    select sessions.session_id, web_events.event_at, web_events.event_date, web_events.event_name,
           web_events.product_id, web_events.search_query,
    from web_events
    inner join sessions
        on sessions.anonymous_id = web_events.anonymous_id
       and web_events.event_at between sessions.started_at and sessions.ended_at

),

session_searches as (

    select session_id, event_at as searched_at, search_query
    from session_events
    where event_name = {{ event_name('products_searched') }} and search_query is not null

),

product_interest as (

    select session_id, event_at, event_date, product_id
    from session_events
    where event_name in ({{ event_name('product_viewed') }}, {{ event_name('product_added') }})
      and product_id is not null

),

search_led as (

    -- a session counts once per product and search term, on the day of its first such view
    select product_interest.product_id, session_searches.search_query as item,
           min(product_interest.event_date) as activity_date, product_interest.session_id,
    from product_interest
    asof inner join session_searches
        on session_searches.session_id = product_interest.session_id
       and product_interest.event_at >= session_searches.searched_at
    group by all

),

search_terms as (

    select product_id, activity_date, 'search_term' as mention_kind, item, count(*) as weight
    from search_led
    group by all

),

return_reasons as (

    select product_id, cast(requested_at as date) as activity_date, 'return_reason' as mention_kind,
           coalesce(return_reason, 'unknown') as item, sum(quantity) as weight,
    from returns
    where product_id is not null
    group by all

),

purchased as (

    select distinct order_id, product_id, order_date
    from order_lines
    where not is_cancelled and product_id is not null

),

co_purchases as (

    select purchased.product_id, purchased.order_date as activity_date,
           'co_purchased_product' as mention_kind, other.product_id as item, count(*) as weight,
    from purchased
    inner join purchased as other
        on other.order_id = purchased.order_id and other.product_id <> purchased.product_id
    group by all

),

final as (

    select * from search_terms
    union all select * from return_reasons
    union all select * from co_purchases

)

select * from final
