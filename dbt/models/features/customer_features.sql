-- One row per customer and activity day: behaviour up to the end of that day. Stamped
-- event_timestamp = the following midnight (UTC), when the day's data is complete, so a
-- point-in-time join never sees a value computed from its own future. Between activity days
-- the last row stays in force (its windows are as of that day). No PII: only customer_id.
with

activity as (select * from {{ ref('int_customer_activity_daily') }}),
order_lines as (select * from {{ ref('order_lines') }}),
web_events as (select * from {{ ref('int_web_events_attributed') }}),

running as (

    select
        customer_id,
        activity_date,
        sum(orders) over lifetime as orders_lifetime,
        sum(revenue) over lifetime as revenue_lifetime,
        sum(units_bought) over lifetime as units_bought_lifetime,
        sum(units_returned) over lifetime as units_returned_lifetime,
        sum(orders) over last_90_days as orders_90d,
        sum(revenue) over last_90_days as revenue_90d,
        sum(product_views) over last_30_days as product_views_30d,
        sum(add_to_carts) over last_30_days as add_to_carts_30d,
        sum(searches) over last_30_days as searches_30d,
        sum(support_tickets) over last_90_days as support_tickets_90d,
        sum(email_opens) over last_90_days as email_opens_90d,
        sum(email_clicks) over last_90_days as email_clicks_90d,
        min(activity_date) over lifetime as first_seen_date,
    from activity
    window
        lifetime as (partition by customer_id order by activity_date rows between unbounded preceding and current row),
        last_30_days as (partition by customer_id order by activity_date range between interval 29 days preceding and current row),
        last_90_days as (partition by customer_id order by activity_date range between interval 89 days preceding and current row)

),

preference_daily as (

    -- weights per customer, day and value, for "which one the most, so far" features
    select customer_id, order_date as activity_date, 'category' as preference, category_level_1 as value,
           sum(line_amount) as weight
    from order_lines
    where customer_id is not null and not is_cancelled and category_level_1 is not null
    group by all
    union all
    select customer_id, event_date, 'device', device_type, count(*)
    from web_events
    where customer_id is not null and device_type is not null
    group by all

),

preference_running as (

    select *, sum(weight) over (
        partition by customer_id, preference, value order by activity_date
        rows between unbounded preceding and current row
    ) as weight_so_far
    from preference_daily

),

preference_as_of_day as (

    -- for each activity day, the latest running weight of every value seen up to that day
    select activity.customer_id, activity.activity_date, preference_running.preference, preference_running.value,
           arg_max(preference_running.weight_so_far, preference_running.activity_date) as weight_so_far,
    from activity
    inner join preference_running
        on preference_running.customer_id = activity.customer_id
       and preference_running.activity_date <= activity.activity_date
    group by all

),

preferences as (

    select customer_id, activity_date,
           first(value order by weight_so_far desc, value) filter (where preference = 'category') as favourite_category,
           first(value order by weight_so_far desc, value) filter (where preference = 'device') as preferred_device,
    from preference_as_of_day
    group by all

),

final as (

    select
        running.customer_id,
        {{ known_after_day('running.activity_date') }} as event_timestamp,
        running.activity_date as feature_date,
        cast(running.orders_lifetime as bigint) as orders_lifetime,
        cast(running.revenue_lifetime as double) as revenue_lifetime,
        cast(case when running.orders_lifetime > 0 then running.revenue_lifetime / running.orders_lifetime else 0 end as double) as avg_order_value,
        cast(running.orders_90d as bigint) as orders_90d,
        cast(running.revenue_90d as double) as revenue_90d,
        cast(running.units_returned_lifetime as bigint) as units_returned_lifetime,
        cast(case when running.units_bought_lifetime > 0
                  then least(1.0, running.units_returned_lifetime / running.units_bought_lifetime) end as double) as return_rate,
        cast(running.product_views_30d as bigint) as product_views_30d,
        cast(running.add_to_carts_30d as bigint) as add_to_carts_30d,
        cast(running.searches_30d as bigint) as searches_30d,
        cast(running.support_tickets_90d as bigint) as support_tickets_90d,
        cast(running.email_opens_90d as bigint) as email_opens_90d,
        cast(running.email_clicks_90d as bigint) as email_clicks_90d,
        cast(date_diff('day', running.first_seen_date, running.activity_date) as bigint) as days_since_first_seen,
        preferences.favourite_category,
        preferences.preferred_device,
    from running
    left join preferences using (customer_id, activity_date)

)

select * from final
order by customer_id, event_timestamp
