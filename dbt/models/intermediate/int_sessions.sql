{{
    config(
        materialized='incremental',
        unique_key='anonymous_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        tags=['daily'],
    )
}}
-- One row per web session of a device (cookie): its events with no gap longer than var
-- session_timeout_minutes. Incremental per cookie: a daily partition recomputes every session
-- of the cookies that have events delivered in its window, over their whole history, so a
-- late event that joins, splits or extends a session of any earlier day gives exactly the
-- sessions a full build gives. Identity (customer_id) is attached downstream, in marts.sessions,
-- because it changes when identities merge.
with

events as (

    select * from {{ ref('stg_web__events') }}
    {% if is_incremental() %}
    where anonymous_id in (
        select anonymous_id from {{ ref('stg_web__events') }} where {{ in_delivery_window() }}
    )
    {% endif %}

),

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
        -- the OMS account logged in during the session, if any
        max(user_id) as user_id,
        min(event_at) as started_at,
        max(event_at) as ended_at,
        count(*) as events,
        count(*) filter (where event_type = 'page') as page_views,
        count(*) filter (where event_name = {{ event_name('product_viewed') }}) as product_views,
        count(*) filter (where event_name = {{ event_name('products_searched') }}) as searches,
        count(*) filter (where event_name = {{ event_name('product_added') }}) as add_to_carts,
        max(checkout_step) as max_checkout_step,
        max(order_id) filter (where event_name = {{ event_name('order_completed') }}) as order_id,
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
            {%- for domain in var('shop_domains').split(',') if domain.strip() %}
            when regexp_extract(referrer, '^[a-z]+://([^/:]+)', 1) like '%{{ domain.strip() }}' then 'internal'
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
        user_id,
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
