-- What product copy is written from, per product, as of each day from its first PIM version to
-- the last day any source has data for: the PIM record in force (name, description, category,
-- specs), its price and margin band among the deployment's own catalogue that day, demand and
-- the view -> add-to-cart -> purchase funnel, return reasons, support tickets, the rating
-- distribution, the searches that led to it and what is bought with it. Stored like
-- product_features: a row on days a value changed, plus one every product_feature_heartbeat_days
-- days; event_timestamp is the following midnight (UTC), when the day is complete.
{% set feature_values %}
    product_name, product_description, category_path, category_level_2, category_level_3,
    specs_json, currency, price_band, margin_band, units_sold_7d,
    funnel_views_30d, funnel_add_to_carts_30d, funnel_purchases_30d, product_support_tickets_90d,
    reviews_1_star, reviews_2_star, reviews_3_star, reviews_4_star, reviews_5_star,
    top_return_reason_1, top_return_reason_1_share, top_return_reason_2, top_return_reason_2_share,
    top_return_reason_3, top_return_reason_3_share,
    top_search_term_1, top_search_term_1_sessions, top_search_term_2, top_search_term_2_sessions,
    top_search_term_3, top_search_term_3_sessions,
    co_purchased_product_1, co_purchased_product_1_orders, co_purchased_product_2, co_purchased_product_2_orders,
    co_purchased_product_3, co_purchased_product_3_orders
{% endset %}
with

attributes as (select * from {{ ref('int_product_attributes_daily') }}),
activity as (select * rename (activity_date as feature_date) from {{ ref('int_product_activity_daily') }}),
mentions as (select * from {{ ref('int_product_mentions_daily') }}),
order_lines as (select * from {{ ref('order_lines') }}),
support_tickets as (select * from {{ ref('support_tickets') }}),
reviews as (select * from {{ ref('stg_pim__reviews') }}),
web_events as (select * from {{ ref('int_web_events_attributed') }}),

calendar as (

    -- the same days as product_features
    {{ feature_calendar('attributes', 'version_date') }}

),

web_analytics as (

    -- a retailer without web analytics has no funnel: its view counts are unknown, not zero
    select count(*) > 0 as is_delivered from (select 1 from web_events limit 1)

),

product_days as (

    select products.product_id, calendar.feature_date
    from (select product_id, min(version_date) as first_date from attributes group by all) as products
    inner join calendar on calendar.feature_date >= products.first_date

),

attributes_in_force as (

    select product_days.product_id, product_days.feature_date, attributes.* exclude (product_id, version_date, updated_at)
    from product_days
    asof inner join attributes
        on attributes.product_id = product_days.product_id
       and product_days.feature_date >= attributes.version_date

),

banded as (

    -- Bands are thirds of the deployment's own catalogue that day (price within the top-level
    -- category, margin across the catalogue): no fixed amounts. Fewer than 3 products to
    -- compare with, or no cost delivered: no band.
    select
        *,
        case when count(*) over same_category >= 3 then
            case when cume_dist() over price_in_category <= 1 / 3 then 'low'
                 when cume_dist() over price_in_category <= 2 / 3 then 'mid'
                 else 'high' end
        end as price_band,
        case when cost is not null and price > 0 then (price - cost) / price end as margin_rate,
    from attributes_in_force
    window
        same_category as (partition by feature_date, category_level_1),
        price_in_category as (partition by feature_date, category_level_1 order by price)

),

margin_banded as (

    select
        * exclude (margin_rate, cost),
        case when margin_rate is not null and count(margin_rate) over same_day >= 3 then
            case when cume_dist() over margin_on_day <= 1 / 3 then 'low'
                 when cume_dist() over margin_on_day <= 2 / 3 then 'mid'
                 else 'high' end
        end as margin_band,
    from banded
    window
        same_day as (partition by feature_date),
        margin_on_day as (partition by feature_date, margin_rate is null order by margin_rate)

),

ticket_days as (

    -- a ticket about an order mentions every product of that order, once
    select order_lines.product_id, cast(support_tickets.created_at as date) as feature_date,
           count(distinct support_tickets.ticket_id) as support_tickets,
    from support_tickets
    inner join order_lines on order_lines.order_id = support_tickets.order_id
    where order_lines.product_id is not null
    group by all

),

rating_days as (

    select product_id, cast(submitted_at as date) as feature_date,
           {%- for stars in range(1, 6) %}
           count(*) filter (where rating = {{ stars }}) as reviews_{{ stars }}_star,
           {%- endfor %}
    from reviews
    where product_id is not null
    group by all

),

daily as (

    select
        product_days.product_id,
        product_days.feature_date,
        coalesce(activity.product_views, 0) as product_views,
        coalesce(activity.add_to_carts, 0) as add_to_carts,
        coalesce(activity.units_sold, 0) as units_sold,
        coalesce(activity.order_lines, 0) as order_lines,
        coalesce(ticket_days.support_tickets, 0) as support_tickets,
        {%- for stars in range(1, 6) %}
        coalesce(rating_days.reviews_{{ stars }}_star, 0) as reviews_{{ stars }}_star,
        {%- endfor %}
    from product_days
    left join activity using (product_id, feature_date)
    left join ticket_days using (product_id, feature_date)
    left join rating_days using (product_id, feature_date)

),

windowed as (

    -- the grid is dense (one row per day), so row frames are day windows
    select
        product_id,
        feature_date,
        sum(units_sold) over last_7_days as units_sold_7d,
        sum(product_views) over last_30_days as views_30d,
        sum(add_to_carts) over last_30_days as add_to_carts_30d,
        sum(order_lines) over last_30_days as purchases_30d,
        sum(support_tickets) over last_90_days as support_tickets_90d,
        {%- for stars in range(1, 6) %}
        sum(reviews_{{ stars }}_star) over lifetime as reviews_{{ stars }}_star,
        {%- endfor %}
    from daily
    window
        last_7_days as (partition by product_id order by feature_date rows between 6 preceding and current row),
        last_30_days as (partition by product_id order by feature_date rows between 29 preceding and current row),
        last_90_days as (partition by product_id order by feature_date rows between 89 preceding and current row),
        lifetime as (partition by product_id order by feature_date rows between unbounded preceding and current row)

),

return_reasons as (select * from mentions where mention_kind = 'return_reason'),
search_terms as (select * from mentions where mention_kind = 'search_term'),
co_purchases as (select * from mentions where mention_kind = 'co_purchased_product'),

top_return_reasons as ({{ top_items_as_of('return_reasons', 3) }}),
top_search_terms as ({{ top_items_as_of('search_terms', 3) }}),
top_co_purchases as ({{ top_items_as_of('co_purchases', 3) }}),

daily_values as (

    select
        windowed.product_id,
        {{ known_after_day('windowed.feature_date') }} as event_timestamp,
        windowed.feature_date,
        attributes.product_name,
        attributes.product_description,
        attributes.category_path,
        attributes.category_level_2,
        attributes.category_level_3,
        attributes.specs_json,
        attributes.currency,
        attributes.price_band,
        attributes.margin_band,
        cast(windowed.units_sold_7d as bigint) as units_sold_7d,
        cast(case when web_analytics.is_delivered then windowed.views_30d end as bigint) as funnel_views_30d,
        cast(case when web_analytics.is_delivered then windowed.add_to_carts_30d end as bigint) as funnel_add_to_carts_30d,
        cast(windowed.purchases_30d as bigint) as funnel_purchases_30d,
        cast(case when web_analytics.is_delivered and windowed.views_30d > 0
                  then windowed.add_to_carts_30d / windowed.views_30d end as double) as funnel_view_to_cart_rate_30d,
        cast(case when web_analytics.is_delivered and windowed.add_to_carts_30d > 0
                  then windowed.purchases_30d / windowed.add_to_carts_30d end as double) as funnel_cart_to_purchase_rate_30d,
        cast(windowed.support_tickets_90d as bigint) as product_support_tickets_90d,
        {%- for stars in range(1, 6) %}
        cast(windowed.reviews_{{ stars }}_star as bigint) as reviews_{{ stars }}_star,
        {%- endfor %}
        {%- for i in range(1, 4) %}
        top_return_reasons.item_{{ i }} as top_return_reason_{{ i }},
        cast(top_return_reasons.weight_{{ i }} / top_return_reasons.total_weight as double) as top_return_reason_{{ i }}_share,
        {%- endfor %}
        {%- for i in range(1, 4) %}
        top_search_terms.item_{{ i }} as top_search_term_{{ i }},
        cast(top_search_terms.weight_{{ i }} as bigint) as top_search_term_{{ i }}_sessions,
        {%- endfor %}
        {%- for i in range(1, 4) %}
        top_co_purchases.item_{{ i }} as co_purchased_product_{{ i }},
        cast(top_co_purchases.weight_{{ i }} as bigint) as co_purchased_product_{{ i }}_orders,
        {%- endfor %}
    from windowed
    inner join margin_banded as attributes using (product_id, feature_date)
    cross join web_analytics
    asof left join top_return_reasons
        on top_return_reasons.product_id = windowed.product_id and windowed.feature_date >= top_return_reasons.activity_date
    asof left join top_search_terms
        on top_search_terms.product_id = windowed.product_id and windowed.feature_date >= top_search_terms.activity_date
    asof left join top_co_purchases
        on top_co_purchases.product_id = windowed.product_id and windowed.feature_date >= top_co_purchases.activity_date

),

final as (

    {{ rows_on_change_or_heartbeat('daily_values', 'product_id', feature_values) }}

)

select * from final
order by product_id, event_timestamp
