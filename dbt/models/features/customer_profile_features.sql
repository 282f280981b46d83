-- One row per customer and activity day (the grid of customer_features): recency, frequency and
-- monetary windows, affinities, price sensitivity, channel, browsing, abandoned carts, email and
-- support behaviour up to the end of that day, stamped the following midnight (UTC). Between
-- activity days the last row stays in force: its windows and "days since" are as of its
-- feature_date (the on-demand view hours_since_last_session gives recency at request time).
-- Web-built features are null where no web analytics are delivered. No PII: only customer_id.
with

activity as (select customer_id, activity_date from {{ ref('int_customer_activity_daily') }}),
orders as (select * from {{ ref('orders') }} where not is_cancelled and customer_id is not null),
order_lines as (select * from {{ ref('order_lines') }} where not is_cancelled and customer_id is not null),
sessions as (select * from {{ ref('sessions') }}),
carts as (select * from {{ ref('carts') }} where customer_id is not null),
email_engagement as (select * from {{ ref('email_engagement') }}),
support_tickets as (select * from {{ ref('support_tickets') }} where customer_id is not null),

web_delivered as (

    -- no session at all: the deployment has no web analytics, web features are null, not 0
    select count(*) > 0 as has_web_analytics from sessions

),

customer_sessions as (

    select
        customer_id,
        started_at,
        session_date,
        product_views,
        -- the referrer's host, without scheme, port or path
        lower(regexp_extract(referrer, '^[a-zA-Z][a-zA-Z0-9+.-]*://([^/:?#]+)', 1)) as referrer_host,
        lower(utm_medium) as utm_medium,
    from sessions
    where customer_id is not null

),

session_days as (

    select
        customer_id,
        session_date as activity_date,
        count(*) as sessions,
        sum(product_views) as product_views,
        count(*) filter (where
            list_has_any(string_split(referrer_host, '.'), {{ var('price_comparison_referrer_names') | list | tojson | replace('"', "'") }})
            or utm_medium in ({% for medium in var('price_comparison_utm_mediums') %}'{{ medium }}'{{ ", " if not loop.last }}{% endfor %})
        ) as price_comparison_sessions,
        max(started_at) as last_session_at,
    from customer_sessions
    group by all

),

order_days as (

    select customer_id, order_date as activity_date, count(*) as orders, sum(total_amount) as revenue,
           max(order_date) as last_order_date,
    from orders
    group by all

),

line_days as (

    select customer_id, order_date as activity_date, count(*) as lines,
           count(*) filter (where discount_amount > 0) as discounted_lines,
    from order_lines
    group by all

),

abandoned_cart_days as (

    -- a cart is known abandoned once it has been idle cart_abandoned_after_hours without an order by then
    select customer_id,
           cast(last_activity_at + interval ({{ var('cart_abandoned_after_hours') }}) hour as date) as activity_date,
           count(*) as carts_abandoned,
    from carts
    where ordered_at is null
       or ordered_at > last_activity_at + interval ({{ var('cart_abandoned_after_hours') }}) hour
    group by all

),

email_days as (

    -- each campaign counts as sent on its send day and as opened/clicked on the day that became known
    select customer_id, cast(sent_at as date) as activity_date, count(*) as emails_sent, 0 as emails_opened, 0 as emails_clicked
    from email_engagement where sent_at is not null group by all
    union all
    select customer_id, cast(first_opened_at as date), 0, count(*), 0
    from email_engagement where first_opened_at is not null group by all
    union all
    select customer_id, cast(first_clicked_at as date), 0, 0, count(*)
    from email_engagement where first_clicked_at is not null group by all

),

daily as (

    select
        activity.customer_id,
        activity.activity_date,
        coalesce(order_days.orders, 0) as orders,
        coalesce(order_days.revenue, 0) as revenue,
        order_days.last_order_date,
        coalesce(line_days.lines, 0) as lines,
        coalesce(line_days.discounted_lines, 0) as discounted_lines,
        coalesce(session_days.sessions, 0) as sessions,
        coalesce(session_days.product_views, 0) as product_views,
        coalesce(session_days.price_comparison_sessions, 0) as price_comparison_sessions,
        session_days.last_session_at,
        coalesce(abandoned_cart_days.carts_abandoned, 0) as carts_abandoned,
        coalesce(emails.emails_sent, 0) as emails_sent,
        coalesce(emails.emails_opened, 0) as emails_opened,
        coalesce(emails.emails_clicked, 0) as emails_clicked,
    from activity
    left join order_days using (customer_id, activity_date)
    left join line_days using (customer_id, activity_date)
    left join session_days using (customer_id, activity_date)
    left join abandoned_cart_days using (customer_id, activity_date)
    left join (
        select customer_id, activity_date, sum(emails_sent) as emails_sent, sum(emails_opened) as emails_opened,
               sum(emails_clicked) as emails_clicked
        from email_days group by all
    ) as emails using (customer_id, activity_date)

),

running as (

    select
        customer_id,
        activity_date,
        max(last_order_date) over lifetime as last_order_date,
        max(last_session_at) over lifetime as last_session_at,
        sum(orders) over last_30_days as orders_30d,
        sum(orders) over last_365_days as orders_365d,
        sum(revenue) over last_30_days as revenue_30d,
        sum(revenue) over last_365_days as revenue_365d,
        sum(lines) over lifetime as lines_lifetime,
        sum(discounted_lines) over lifetime as discounted_lines_lifetime,
        sum(sessions) over lifetime as sessions_lifetime,
        sum(price_comparison_sessions) over lifetime as price_comparison_sessions_lifetime,
        sum(sessions) over last_7_days as sessions_7d,
        sum(product_views) over last_7_days as product_views_7d,
        sum(carts_abandoned) over last_30_days as carts_abandoned_30d,
        sum(emails_sent) over lifetime as emails_sent_lifetime,
        sum(emails_opened) over lifetime as emails_opened_lifetime,
        sum(emails_clicked) over lifetime as emails_clicked_lifetime,
    from daily
    window
        lifetime as (partition by customer_id order by activity_date rows between unbounded preceding and current row),
        last_7_days as (partition by customer_id order by activity_date range between interval 6 days preceding and current row),
        last_30_days as (partition by customer_id order by activity_date range between interval 29 days preceding and current row),
        last_365_days as (partition by customer_id order by activity_date range between interval 364 days preceding and current row)

),

order_values_as_of_day as (

    -- medians and price band over everything bought up to the day
    select activity.customer_id, activity.activity_date,
           median(orders.total_amount) as median_order_value,
    from activity
    inner join orders on orders.customer_id = activity.customer_id and orders.order_date <= activity.activity_date
    group by all

),

unit_prices_as_of_day as (

    select activity.customer_id, activity.activity_date,
           quantile_cont(order_lines.unit_price, 0.25) as price_band_low,
           quantile_cont(order_lines.unit_price, 0.5) as price_band_median,
           quantile_cont(order_lines.unit_price, 0.75) as price_band_high,
    from activity
    inner join order_lines on order_lines.customer_id = activity.customer_id and order_lines.order_date <= activity.activity_date
    group by all

),

open_tickets_as_of_day as (

    select activity.customer_id, activity.activity_date, count(*) as open_support_tickets,
    from activity
    inner join support_tickets
        on support_tickets.customer_id = activity.customer_id
       and cast(support_tickets.created_at as date) <= activity.activity_date
       and (support_tickets.solved_at is null or cast(support_tickets.solved_at as date) > activity.activity_date)
    group by all

),

preference_daily as (

    -- weights per customer, day and value, for "which ones the most, so far" features
    select customer_id, order_date as activity_date, 'category' as preference, category_level_1 as value, sum(line_amount) as weight
    from order_lines where category_level_1 is not null group by all
    union all
    select customer_id, order_date, 'brand', brand, sum(line_amount)
    from order_lines where brand is not null group by all
    union all
    select customer_id, order_date, 'channel', channel, count(*)
    from orders where channel is not null group by all
    union all
    select customer_id, cast(first_opened_at as date), 'open_hour', cast(hour(first_opened_at) as varchar), count(*)
    from email_engagement where first_opened_at is not null group by all
    union all
    select customer_id, cast(first_opened_at as date), 'open_weekday', cast(isodow(first_opened_at) as varchar), count(*)
    from email_engagement where first_opened_at is not null group by all

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

preference_ranked as (

    select *,
           row_number() over (partition by customer_id, activity_date, preference order by weight_so_far desc, value) as rank,
           weight_so_far / nullif(sum(weight_so_far) over (partition by customer_id, activity_date, preference), 0) as share,
    from preference_as_of_day

),

preferences as (

    select customer_id, activity_date,
           to_json(list(value order by rank) filter (where preference = 'category' and rank <= 3))::varchar as top_categories,
           to_json(list(round(share, 4) order by rank) filter (where preference = 'category' and rank <= 3))::varchar as top_category_shares,
           max(share) filter (where preference = 'category' and rank = 1) as top_category_share,
           to_json(list(value order by rank) filter (where preference = 'brand' and rank <= 3))::varchar as top_brands,
           to_json(list(round(share, 4) order by rank) filter (where preference = 'brand' and rank <= 3))::varchar as top_brand_shares,
           max(share) filter (where preference = 'brand' and rank = 1) as top_brand_share,
           max(value) filter (where preference = 'channel' and rank = 1) as preferred_channel,
           max(value) filter (where preference = 'open_hour' and rank = 1) as best_send_hour,
           max(value) filter (where preference = 'open_weekday' and rank = 1) as best_send_weekday,
    from preference_ranked
    group by all

),

final as (

    select
        running.customer_id,
        {{ known_after_day('running.activity_date') }} as event_timestamp,
        running.activity_date as feature_date,
        cast(date_diff('day', running.last_order_date, running.activity_date) as bigint) as days_since_last_order,
        cast(case when web_delivered.has_web_analytics
                  then date_diff('day', cast(running.last_session_at as date), running.activity_date) end as bigint) as days_since_last_session,
        cast(case when web_delivered.has_web_analytics then running.last_session_at end as timestamp) as last_session_at,
        cast(running.orders_30d as bigint) as orders_30d,
        cast(running.orders_365d as bigint) as orders_365d,
        cast(running.revenue_30d as double) as revenue_30d,
        cast(running.revenue_365d as double) as revenue_365d,
        cast(order_values_as_of_day.median_order_value as double) as median_order_value,
        preferences.top_categories,
        preferences.top_category_shares,
        cast(preferences.top_category_share as double) as top_category_share,
        preferences.top_brands,
        preferences.top_brand_shares,
        cast(preferences.top_brand_share as double) as top_brand_share,
        cast(case when running.lines_lifetime > 0
                  then running.discounted_lines_lifetime / running.lines_lifetime end as double) as discounted_purchase_share,
        cast(case when web_delivered.has_web_analytics and running.sessions_lifetime > 0
                  then running.price_comparison_sessions_lifetime / running.sessions_lifetime end as double) as price_comparison_session_share,
        cast(unit_prices_as_of_day.price_band_low as double) as price_band_low,
        cast(unit_prices_as_of_day.price_band_median as double) as price_band_median,
        cast(unit_prices_as_of_day.price_band_high as double) as price_band_high,
        preferences.preferred_channel,
        cast(case when web_delivered.has_web_analytics then running.sessions_7d end as bigint) as sessions_7d,
        cast(case when web_delivered.has_web_analytics then running.product_views_7d end as bigint) as product_views_7d,
        cast(case when web_delivered.has_web_analytics then running.carts_abandoned_30d end as bigint) as carts_abandoned_30d,
        cast(case when running.emails_sent_lifetime > 0
                  then least(1.0, running.emails_opened_lifetime / running.emails_sent_lifetime) end as double) as email_open_rate,
        cast(case when running.emails_sent_lifetime > 0
                  then least(1.0, running.emails_clicked_lifetime / running.emails_sent_lifetime) end as double) as email_click_rate,
        cast(preferences.best_send_hour as bigint) as best_send_hour,
        cast(preferences.best_send_weekday as bigint) as best_send_weekday,
        cast(coalesce(open_tickets_as_of_day.open_support_tickets, 0) as bigint) as open_support_tickets,
    from running
    cross join web_delivered
    left join preferences using (customer_id, activity_date)
    left join order_values_as_of_day using (customer_id, activity_date)
    left join unit_prices_as_of_day using (customer_id, activity_date)
    left join open_tickets_as_of_day using (customer_id, activity_date)

)

select * from final
order by customer_id, event_timestamp
