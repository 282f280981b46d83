-- Availability per product and location, one row per stock count (and a zero row when a product
-- leaves a location's count: a count is complete for its location, contract). Each row carries
-- the count's figures, days of cover at the recent sales rate, the low-stock flag, the next
-- inbound shipment and the time of the count. Stamped event_timestamp = the midnight after the
-- count's date (known_after_day): the inbound shipments and sales it uses are those of that day.
-- Its columns are exactly the Feast view's (keys, event_timestamp, features): pushed rows are
-- appended to it as they are (PushMode.ONLINE_AND_OFFLINE), which Feast allows only for the same
-- columns. stock_by_product totals its rows. It is a feature model rather than an intermediate
-- one so that the warehouse's models stay out of the core dbt step (a WMS failure stops only
-- what reads the WMS).
with

positions as (select * from {{ ref('inventory_positions') }}),
snapshots as (select * from {{ ref('stg_wms__inventory_snapshots') }}),
locations as (select * from {{ ref('stg_wms__locations') }}),
shipments as (select * from {{ ref('stg_wms__inbound_shipments') }}),
orders as (select * from {{ ref('orders') }}),
order_lines as (select * from {{ ref('order_lines') }}),

location_counts as (

    select distinct location_id, position_date from positions

),

counted_pairs as (

    -- every product a location has counted so far, on each later count of that location: a
    -- product absent from a count has no stock there (a zero row is kept only when that changes)
    select location_counts.location_id, location_counts.position_date, first_counts.product_id
    from location_counts
    inner join (
        select location_id, product_id, min(position_date) as first_date from positions group by all
    ) as first_counts
        on first_counts.location_id = location_counts.location_id
       and first_counts.first_date <= location_counts.position_date

),

counts as (

    select
        counted_pairs.product_id,
        counted_pairs.location_id,
        counted_pairs.position_date,
        coalesce(positions.on_hand, 0) as units_on_hand,
        coalesce(positions.reserved, 0) as units_reserved,
        coalesce(positions.available_to_promise, 0) as units_available,
        positions.product_id is not null as is_in_count,
    from counted_pairs
    left join positions using (location_id, position_date, product_id)

),

count_times as (

    select location_id, snapshot_date as position_date, max(snapshot_at) as stock_counted_at
    from snapshots
    group by all

),

open_shipments as (

    -- shipments announced by the end of the count's day and not received by then
    select counts.product_id, counts.location_id, counts.position_date, shipments.expected_at, shipments.quantity,
           min(shipments.expected_at) over (
               partition by counts.product_id, counts.location_id, counts.position_date
           ) as soonest_expected_at,
    from counts
    inner join shipments
        on shipments.product_id = counts.product_id
       and shipments.location_id = counts.location_id
       and cast(shipments.announced_at as date) <= counts.position_date
       and (shipments.received_at is null or cast(shipments.received_at as date) > counts.position_date)

),

next_inbound as (

    -- the earliest open shipment(s) and their units: every shipment expected at that moment
    -- counts (picking one of several would make the value depend on the scan order)
    select product_id, location_id, position_date,
           min(expected_at) as next_inbound_at,
           cast(sum(quantity) filter (where expected_at = soonest_expected_at) as bigint) as next_inbound_units,
    from open_shipments
    group by all

),

warehouses as (

    select count(*) as warehouse_count from locations where location_type = 'warehouse'

),

location_sales as (

    -- units sold per product, location and day: a store order or click-and-collect names its
    -- store; an order that names none is shipped by the warehouses, shared equally among them
    select order_lines.product_id, orders.store_location_id as location_id, order_lines.order_date,
           sum(order_lines.quantity) as units_sold,
    from order_lines
    inner join orders using (order_id)
    where not order_lines.is_cancelled and orders.store_location_id is not null
    group by all
    union all
    select order_lines.product_id, locations.location_id, order_lines.order_date,
           sum(order_lines.quantity) / any_value(warehouses.warehouse_count) as units_sold,
    from order_lines
    inner join orders using (order_id)
    cross join warehouses
    inner join locations on locations.location_type = 'warehouse'
    where not order_lines.is_cancelled and orders.store_location_id is null
    group by all

),

velocity as (

    -- units per day over the stock_velocity_days days ending on the count's date
    select counts.product_id, counts.location_id, counts.position_date,
           -- decimals: a sum of doubles depends on the order threads add them in (builds must be equal)
           coalesce(sum(cast(location_sales.units_sold as decimal(38, 12))), 0) / {{ var('stock_velocity_days') }}
               as units_sold_per_day,
    from counts
    left join location_sales
        on location_sales.product_id = counts.product_id
       and location_sales.location_id = counts.location_id
       and location_sales.order_date > counts.position_date - {{ var('stock_velocity_days') }}
       and location_sales.order_date <= counts.position_date
    group by all

),

daily_values as (

    select
        counts.product_id,
        counts.location_id,
        {{ known_after_day('counts.position_date') }} as event_timestamp,
        counts.position_date,
        locations.location_type,
        locations.region,
        locations.postal_code,
        coalesce(locations.is_click_and_collect, false) as is_click_and_collect,
        cast(counts.units_on_hand as bigint) as units_on_hand,
        cast(counts.units_reserved as bigint) as units_reserved,
        cast(counts.units_available as bigint) as units_available,
        counts.units_available > 0 as is_in_stock,
        counts.units_available > 0 and counts.units_available <= {{ var('low_stock_units') }} as is_low_stock,
        cast(velocity.units_sold_per_day as double) as units_sold_per_day,
        cast(case when velocity.units_sold_per_day > 0
                  then counts.units_available / velocity.units_sold_per_day end as double) as days_of_cover,
        strftime(next_inbound.next_inbound_at, '%Y-%m-%d') as next_inbound_on,
        next_inbound.next_inbound_units,
        strftime(coalesce(count_times.stock_counted_at, cast(counts.position_date as timestamp)),
                 '%Y-%m-%dT%H:%M:%SZ') as stock_counted_at,
        counts.is_in_count,
    from counts
    left join locations using (location_id)
    left join count_times using (location_id, position_date)
    left join next_inbound using (product_id, location_id, position_date)
    left join velocity using (product_id, location_id, position_date)

),

compared as (

    select
        *,
        (units_on_hand, units_reserved, next_inbound_on, next_inbound_units) is distinct from
            lag((units_on_hand, units_reserved, next_inbound_on, next_inbound_units))
            over (partition by product_id, location_id order by position_date) as has_changed,
    from daily_values

),

final as (

    -- every count of a product (its as-of moves), and a product's absence only when it changes
    select * exclude (position_date, is_in_count, has_changed)
    from compared
    where is_in_count or has_changed

)

select * from final
order by product_id, location_id, event_timestamp
