-- Price and catalog attributes in force, demand, returns, reviews and availability per product, as
-- of each day from its first PIM version to the last day any source has data for, stored only
-- on the days a value changed: the day's values are computed for every day, then a row is kept
-- when any feature differs from the product's previous day (a sale, a view, a price change, and
-- also an event leaving a 7/30/90-day window). A point-in-time (ASOF) read of any day returns
-- that day's values. So that the read stays within the feature view's TTL (Feast's look-back),
-- a product also gets a row every product_feature_heartbeat_days days (var, below the TTL).
-- Stamped event_timestamp = the following midnight (UTC), when the day is complete.
{% set feature_values %}
    price, category_level_1, brand, is_active, product_views_7d, add_to_carts_7d,
    units_sold_30d, revenue_30d, view_to_order_rate_30d, return_rate_90d, review_count, avg_rating,
    units_on_hand, units_available, locations_in_stock, stores_in_stock, is_in_stock
{% endset %}
{#- stock_counted_on is left out of the comparison: with daily counts it moves every day, and a
    row per product and day only for it would undo the thinning. A stored row keeps the date of
    the count behind its figures; a later count that found the same figures writes no row, so a
    read between rows may show an earlier count date than the latest (never a later one). -#}
with

product_versions as (select * from {{ ref('int_product_versions_daily') }}),
activity as (select * rename (activity_date as feature_date) from {{ ref('int_product_activity_daily') }}),
inventory as (select * from {{ ref('inventory_positions') }}),
order_lines as (select * from {{ ref('order_lines') }}),
web_events as (select * from {{ ref('int_web_events_attributed') }}),

calendar as (

    -- up to the last day any source has data for (a missing source does not end the calendar)
    select cast(range as date) as feature_date
    from range(
        (select min(version_date) from product_versions),
        greatest(
            (select max(position_date) from inventory),
            (select max(order_date) from order_lines),
            (select max(event_date) from web_events),
            (select max(version_date) from product_versions)
        ) + interval 1 day,
        interval 1 day
    )

),

product_days as (

    -- every product from the day its first version appeared
    select products.product_id, calendar.feature_date
    from (select product_id, min(version_date) as first_date from product_versions group by all) as products
    inner join calendar on calendar.feature_date >= products.first_date

),

version_in_force as (

    -- the version of the latest change on or before the day: an ASOF join (a merge of the two
    -- sorted sides) rather than every earlier version per day and a max, which at a year of 20k
    -- products did not fit in the memory limit
    select product_days.product_id, product_days.feature_date,
           product_versions.price, product_versions.category_level_1, product_versions.brand,
           product_versions.is_active,
    from product_days
    asof inner join product_versions
        on product_versions.product_id = product_days.product_id
       and product_days.feature_date >= product_versions.version_date

),

location_counts as (

    select distinct location_id, position_date as snapshot_date from inventory

),

count_in_force as (

    -- Stock is counted at any cadence (daily, weekly, on change): on each day, a location's
    -- latest count on or before it is in force, and that count is complete for the location
    -- (a product absent from it has no stock there: contract).
    select days.feature_date, days.location_id, location_counts.snapshot_date as count_date
    from (
        select calendar.feature_date, known.location_id
        from calendar cross join (select distinct location_id from location_counts) as known
    ) as days
    asof inner join location_counts
        on location_counts.location_id = days.location_id
       and days.feature_date >= location_counts.snapshot_date

),

stock_counted as (

    -- the oldest count in force that day: how old the availability figures may be
    select feature_date, min(count_date) as stock_counted_on
    from count_in_force
    group by all

),

inventory_daily as (

    select inventory.product_id, count_in_force.feature_date,
           sum(inventory.on_hand) as units_on_hand,
           sum(inventory.available_to_promise) as units_available,
           count(*) filter (where inventory.available_to_promise > 0) as locations_in_stock,
           count(*) filter (where inventory.available_to_promise > 0 and inventory.location_type = 'store') as stores_in_stock,
    from count_in_force
    inner join inventory
        on inventory.location_id = count_in_force.location_id
       and inventory.position_date = count_in_force.count_date
    group by all

),

daily as (

    select
        product_days.product_id,
        product_days.feature_date,
        coalesce(activity.product_views, 0) as product_views,
        coalesce(activity.add_to_carts, 0) as add_to_carts,
        coalesce(activity.units_sold, 0) as units_sold,
        coalesce(activity.revenue, 0) as revenue,
        coalesce(activity.order_lines, 0) as order_lines,
        coalesce(activity.units_returned, 0) as units_returned,
        coalesce(activity.reviews, 0) as reviews,
        coalesce(activity.rating_sum, 0) as rating_sum,
        -- a product absent from every count in force has no stock anywhere (contract)
        coalesce(inventory_daily.units_on_hand, 0) as units_on_hand,
        coalesce(inventory_daily.units_available, 0) as units_available,
        coalesce(inventory_daily.locations_in_stock, 0) as locations_in_stock,
        coalesce(inventory_daily.stores_in_stock, 0) as stores_in_stock,
        stock_counted.stock_counted_on,
    from product_days
    left join activity using (product_id, feature_date)
    left join inventory_daily using (product_id, feature_date)
    left join stock_counted using (feature_date)

),

windowed as (

    -- the grid is dense (one row per day), so row frames are day windows
    select
        product_id,
        feature_date,
        sum(product_views) over last_7_days as product_views_7d,
        sum(add_to_carts) over last_7_days as add_to_carts_7d,
        sum(units_sold) over last_30_days as units_sold_30d,
        sum(revenue) over last_30_days as revenue_30d,
        sum(order_lines) over last_30_days as order_lines_30d,
        sum(product_views) over last_30_days as product_views_30d,
        sum(units_sold) over last_90_days as units_sold_90d,
        sum(units_returned) over last_90_days as units_returned_90d,
        sum(reviews) over lifetime as review_count,
        sum(rating_sum) over lifetime as rating_sum,
        units_on_hand,
        units_available,
        locations_in_stock,
        stores_in_stock,
        stock_counted_on,
    from daily
    window
        last_7_days as (partition by product_id order by feature_date rows between 6 preceding and current row),
        last_30_days as (partition by product_id order by feature_date rows between 29 preceding and current row),
        last_90_days as (partition by product_id order by feature_date rows between 89 preceding and current row),
        lifetime as (partition by product_id order by feature_date rows between unbounded preceding and current row)

),

daily_values as (

    select
        windowed.product_id,
        {{ known_after_day('windowed.feature_date') }} as event_timestamp,
        windowed.feature_date,
        cast(version_in_force.price as double) as price,
        version_in_force.category_level_1,
        version_in_force.brand,
        version_in_force.is_active,
        cast(windowed.product_views_7d as bigint) as product_views_7d,
        cast(windowed.add_to_carts_7d as bigint) as add_to_carts_7d,
        cast(windowed.units_sold_30d as bigint) as units_sold_30d,
        cast(windowed.revenue_30d as double) as revenue_30d,
        cast(case when windowed.product_views_30d > 0
                  then windowed.order_lines_30d / windowed.product_views_30d end as double) as view_to_order_rate_30d,
        cast(case when windowed.units_sold_90d > 0
                  then least(1.0, windowed.units_returned_90d / windowed.units_sold_90d) end as double) as return_rate_90d,
        cast(windowed.review_count as bigint) as review_count,
        cast(case when windowed.review_count > 0 then windowed.rating_sum / windowed.review_count end as double) as avg_rating,
        cast(windowed.units_on_hand as bigint) as units_on_hand,
        cast(windowed.units_available as bigint) as units_available,
        cast(windowed.locations_in_stock as bigint) as locations_in_stock,
        cast(windowed.stores_in_stock as bigint) as stores_in_stock,
        windowed.units_available > 0 as is_in_stock,
        -- the date of the oldest stock count behind the availability figures (null: no count
        -- yet); their age at any moment is at most that moment's date minus this one
        strftime(windowed.stock_counted_on, '%Y-%m-%d') as stock_counted_on,
    from windowed
    inner join version_in_force using (product_id, feature_date)

),

compared as (

    select
        *,
        -- the first day of a product compares with null: always kept
        ({{ feature_values }}) is distinct from lag(({{ feature_values }}))
            over (partition by product_id order by feature_date) as has_changed,
        date_diff('day', min(feature_date) over (partition by product_id), feature_date)
            % {{ var('product_feature_heartbeat_days') }} = 0 as is_heartbeat,
    from daily_values

),

final as (

    select * exclude (has_changed, is_heartbeat)
    from compared
    where has_changed or is_heartbeat

)

select * from final
order by product_id, event_timestamp
