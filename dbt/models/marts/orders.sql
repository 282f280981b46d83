-- One row per order with the identity-resolved customer who placed it: by account, else by
-- checkout email, else by phone, else the browser that completed it (a guest order). An order
-- that carries none of them (an anonymous store sale, a phone order taken without details) has
-- no customer: it counts for its products, not for anybody's features.
with

orders as (select * from {{ ref('stg_oms__orders') }}),
identities as (select * from {{ ref('int_identities_stitched') }} where customer_id is not null),

attributed as (

    select
        orders.* exclude (email_hash, phone_hash, _source_file, _source_line, _loaded_at, _delivery_date),
        -- the account is the stronger link; a guest checkout is found by its email
        coalesce(by_account.customer_id, by_email.customer_id, by_phone.customer_id, by_order.customer_id) as customer_id,
        coalesce(by_account.customer_id, by_email.customer_id, by_phone.customer_id, by_order.customer_id) is null
            as is_anonymous,
        orders.status = 'cancelled' as is_cancelled,
    from orders
    left join identities as by_account
        on by_account.identifier_type = 'oms_customer_id' and by_account.identifier_value = orders.oms_customer_id
    left join identities as by_email
        on by_email.identifier_type = 'email_hash' and by_email.identifier_value = orders.email_hash
    left join identities as by_phone
        on by_phone.identifier_type = 'phone_hash' and by_phone.identifier_value = orders.phone_hash
        and orders.email_hash is null
    left join identities as by_order
        on by_order.identifier_type = 'order_id' and by_order.identifier_value = orders.order_id

),

final as (

    select * from attributed

)

select * from final
