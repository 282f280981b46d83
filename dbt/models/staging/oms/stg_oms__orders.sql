{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ delete_delivery_window() }}",
        tags=['daily'],
    )
}}
-- Incremental: a daily partition loads the rows delivered in its window (see
-- macros/incremental_window.sql); a later delivery of the same order_id replaces the row.

with

source as (

    select * from {{ source('oms', 'orders') }}
    {% if is_incremental() %} where {{ in_delivery_window() }} {% endif %}

),

renamed as (

    select
        -- ids
        trim(order_id) as order_id,
        nullif(trim(oms_customer_id), '') as oms_customer_id,
        nullif(trim(store_location_id), '') as store_location_id,
        nullif(trim(cart_id), '') as cart_id,

        -- pii, hashed: clear-text email, phone and street address stay in raw
        {{ hash_email('email') }} as email_hash,
        {{ hash_phone('phone') }} as phone_hash,

        -- properties
        lower(trim(channel)) as channel,
        lower(trim(status)) as status,
        upper(trim(currency)) as currency,
        nullif(trim(shipping_city), '') as shipping_city,
        nullif(trim(shipping_region), '') as shipping_region,
        upper(trim(shipping_country)) as shipping_country,
        nullif(trim(oms_customer_id), '') is null as is_guest_checkout,

        -- money
        subtotal_amount,
        discount_amount,
        shipping_amount,
        tax_amount,
        total_amount,
        -- the total includes tax whether or not the shop's prices do (a deployment setting)
        total_amount - tax_amount as total_amount_excl_tax,
        {{ var('prices_include_tax') }} as prices_include_tax,

        -- timestamps (UTC)
        ordered_at,
        cast(ordered_at as date) as order_date,
        delivered_at,

        -- lineage
        _source_file,
        _source_line,
        _loaded_at,
        _delivery_date

    from source

),

deduplicated as (

    -- Orders are delivered as events, but the OMS may re-send an order in a later file to
    -- correct it (e.g. a new status): the latest file wins, the first line within a file.
    select *
    from renamed
    qualify row_number() over (
        partition by order_id
        order by _source_file desc, _source_line asc
    ) = 1

),

latest as (

    {{ not_superseded_by_a_later_file('deduplicated', 'order_id') }}

),

final as (

    select * from latest

)

select * from final
