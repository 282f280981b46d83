-- One row per product detail view, with customer, session time and device.
with

events as (select * from {{ ref('int_web_events_attributed') }}),

final as (

    select
        event_id as product_view_id,
        customer_id,
        anonymous_id,
        product_id,
        price as price_seen,
        event_at as viewed_at,
        event_date as viewed_date,
        device_type,
        utm_source,
        utm_medium,
    from events
    where event_name = {{ event_name('product_viewed') }} and product_id is not null

)

select * from final
