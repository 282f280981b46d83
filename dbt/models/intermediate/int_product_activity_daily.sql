-- One row per product and UTC day with any activity: views and add-to-carts, sales, returns,
-- reviews. The product side of int_customer_activity_daily: product_features windows these counts.
with

web_events as (select * from {{ ref('int_web_events_attributed') }}),
order_lines as (select * from {{ ref('order_lines') }}),
returns as (select * from {{ ref('stg_oms__returns') }}),
reviews as (select * from {{ ref('stg_pim__reviews') }}),

web_days as (

    select product_id, event_date as activity_date,
           count(*) filter (where event_name = {{ event_name('product_viewed') }}) as product_views,
           count(*) filter (where event_name = {{ event_name('product_added') }}) as add_to_carts,
    from web_events
    where product_id is not null
    group by all

),

sales_days as (

    select product_id, order_date as activity_date,
           sum(quantity) as units_sold, sum(line_amount) as revenue, count(*) as order_lines,
    from order_lines
    where not is_cancelled and product_id is not null
    group by all

),

return_days as (

    select product_id, cast(requested_at as date) as activity_date, sum(quantity) as units_returned
    from returns
    where product_id is not null
    group by all

),

review_days as (

    select product_id, cast(submitted_at as date) as activity_date,
           count(*) as reviews, sum(rating) as rating_sum,
    from reviews
    where product_id is not null
    group by all

),

activity_keys as (

    select product_id, activity_date from web_days
    union select product_id, activity_date from sales_days
    union select product_id, activity_date from return_days
    union select product_id, activity_date from review_days

),

final as (

    select
        activity_keys.product_id,
        activity_keys.activity_date,
        coalesce(web_days.product_views, 0) as product_views,
        coalesce(web_days.add_to_carts, 0) as add_to_carts,
        coalesce(sales_days.units_sold, 0) as units_sold,
        coalesce(sales_days.revenue, 0) as revenue,
        coalesce(sales_days.order_lines, 0) as order_lines,
        coalesce(return_days.units_returned, 0) as units_returned,
        coalesce(review_days.reviews, 0) as reviews,
        coalesce(review_days.rating_sum, 0) as rating_sum,
    from activity_keys
    left join web_days using (product_id, activity_date)
    left join sales_days using (product_id, activity_date)
    left join return_days using (product_id, activity_date)
    left join review_days using (product_id, activity_date)

)

select * from final
