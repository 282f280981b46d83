-- One row per web session: a device's events with no gap longer than var
-- session_timeout_minutes. Landing page, traffic source (UTM, else referrer class), device,
-- funnel depth and whether it ended in an order.
with

events as (select * from {{ ref('int_web_events_attributed') }}),

gaps as (

    select
        *,
        coalesce(
            date_diff('second', lag(event_at) over (partition by anonymous_id order by event_at, event_id), event_at)
                > {{ var('session_timeout_minutes') }} * 60,
            true
        ) as is_session_start,
    from events

),

numbered as (

    select
        *,
        sum(is_session_start::int) over (
            partition by anonymous_id order by event_at, event_id rows between unbounded preceding and current row
        ) as session_number,
    from gaps

),

sessions as (

    select
        anonymous_id,
        session_number,
        -- a session of a cookie that later logs in belongs to that customer too
        max(customer_id) as customer_id,
        min(event_at) as started_at,
        max(event_at) as ended_at,
        count(*) as events,
        count(*) filter (where event_type = 'page') as page_views,
        count(*) filter (where event_name = 'Product Viewed') as product_views,
        count(*) filter (where event_name = 'Products Searched') as searches,
        count(*) filter (where event_name = 'Product Added') as add_to_carts,
        max(checkout_step) as max_checkout_step,
        max(order_id) filter (where event_name = 'Order Completed') as order_id,
        bool_or(user_id is not null) as is_logged_in,
        arg_min(page_path, (event_at, event_id)) filter (where page_path is not null) as landing_page_path,
        arg_min(referrer, (event_at, event_id)) filter (where event_type = 'page') as referrer,
        arg_min(utm_source, (event_at, event_id)) filter (where utm_source is not null) as utm_source,
        arg_min(utm_medium, (event_at, event_id)) filter (where utm_medium is not null) as utm_medium,
        arg_min(utm_campaign, (event_at, event_id)) filter (where utm_campaign is not null) as utm_campaign,
        arg_min(device_type, (event_at, event_id)) as device_type,
    from numbered
    group by anonymous_id, session_number

),

classified as (

    select
        *,
        case
            when utm_medium in ('cpc', 'ppc', 'paid_search', 'paid_social', 'display', 'affiliate', 'price_comparison') then 'paid'
            when utm_medium = 'email' then 'email'
            when referrer is null or referrer = '' then 'direct'
            {%- for domain in var('shop_domains') %}
            when regexp_extract(referrer, '^[a-z]+://([^/:]+)', 1) like '%{{ domain }}' then 'internal'
            {%- endfor %}
            when regexp_matches(referrer, '://([a-z0-9-]+\.)*(google|bing|duckduckgo|ecosia|yahoo)\.') then 'organic_search'
            when regexp_matches(referrer, '://([a-z0-9-]+\.)*(facebook|instagram|tiktok|youtube|pinterest|reddit|x|twitter)\.') then 'social'
            else 'referral'
        end as traffic_source,
    from sessions

),

final as (

    select
        md5(anonymous_id || '#' || session_number) as session_id,
        anonymous_id,
        customer_id,
        started_at,
        ended_at,
        cast(started_at as date) as session_date,
        date_diff('second', started_at, ended_at) as duration_seconds,
        events,
        page_views,
        product_views,
        searches,
        add_to_carts,
        max_checkout_step,
        order_id is not null as has_order,
        order_id,
        is_logged_in,
        landing_page_path,
        referrer,
        traffic_source,
        utm_source,
        utm_medium,
        utm_campaign,
        device_type,
    from classified

)

select * from final
