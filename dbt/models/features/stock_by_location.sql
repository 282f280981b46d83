-- Feature table of Feast view stock_by_location: one row per stock count of a product at a
-- location (built in intermediate/int_stock_positions_counted). Its columns are exactly the
-- view's (keys, event_timestamp, features): pushed rows are appended to it as they are
-- (PushMode.ONLINE_AND_OFFLINE), which Feast allows only for the same columns.
with

positions as (select * from {{ ref('int_stock_positions_counted') }}),

final as (

    select * exclude (product_location_id, count_date) from positions

)

select * from final
order by product_id, location_id, event_timestamp
