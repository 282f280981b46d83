-- Availability per product across locations, one row per moment any location's figures for the
-- product changed (a count): totals, stores with stock per region, the soonest inbound shipment
-- and the oldest count behind the totals. Each location contributes its latest row at or before
-- the moment (an ASOF join), so a row never sees a later count.
with

positions as (select * from {{ ref('stock_by_location') }}),

moments as (

    select distinct product_id, event_timestamp from positions

),

location_starts as (

    select product_id, location_id, min(event_timestamp) as first_at from positions group by all

),

moment_locations as (

    select moments.product_id, moments.event_timestamp, location_starts.location_id,
    from moments
    inner join location_starts
        on location_starts.product_id = moments.product_id and location_starts.first_at <= moments.event_timestamp

),

in_force as (

    select moment_locations.product_id, moment_locations.event_timestamp,
           positions.* exclude (product_id, event_timestamp),
           min(positions.next_inbound_on) over (partition by moment_locations.product_id, moment_locations.event_timestamp)
               as soonest_inbound_at_any_location,
    from moment_locations
    asof inner join positions
        on positions.product_id = moment_locations.product_id
       and positions.location_id = moment_locations.location_id
       and moment_locations.event_timestamp >= positions.event_timestamp

),

stores_by_region as (

    select product_id, event_timestamp,
           string_agg(region || ':' || stores, ',' order by region) as stores_in_stock_by_region,
    from (
        select product_id, event_timestamp, region, count(*) as stores
        from in_force
        where location_type = 'store' and units_available > 0 and region is not null
        group by all
    )
    group by all

),

totals as (

    select
        product_id,
        event_timestamp,
        cast(sum(units_on_hand) as bigint) as total_units_on_hand,
        cast(sum(units_reserved) as bigint) as total_units_reserved,
        cast(sum(units_available) as bigint) as total_units_available,
        cast(count(*) filter (where units_available > 0) as bigint) as locations_in_stock,
        cast(count(*) filter (where units_available > 0 and location_type = 'store') as bigint) as stores_in_stock,
        cast(count(*) filter (where units_available > 0 and location_type = 'store' and is_click_and_collect) as bigint)
            as pickup_stores_in_stock,
        sum(units_available) > 0 as is_in_stock_anywhere,
        sum(units_available) > 0 and sum(units_available) <= {{ var('low_stock_units') }} as is_low_stock_overall,
        -- summed as decimals: a sum of doubles depends on the order DuckDB's threads add them in,
        -- and a day-by-day build must equal a full refresh to the last bit
        cast(sum(cast(units_sold_per_day as decimal(38, 12))) as double) as total_units_sold_per_day,
        cast(case when sum(cast(units_sold_per_day as decimal(38, 12))) > 0
                  then sum(units_available) / cast(sum(cast(units_sold_per_day as decimal(38, 12))) as double) end as double)
            as total_days_of_cover,
        min(next_inbound_on) as soonest_inbound_on,
        cast(sum(next_inbound_units) filter (where next_inbound_on = soonest_inbound_at_any_location) as bigint) as soonest_inbound_units,
        min(stock_counted_at) as oldest_count_at,
    from in_force
    group by all

),

final as (

    select totals.*, coalesce(stores_by_region.stores_in_stock_by_region, '') as stores_in_stock_by_region,
    from totals
    left join stores_by_region using (product_id, event_timestamp)

)

select * from final
order by product_id, event_timestamp
