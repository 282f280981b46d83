-- Web events with the customer they belong to: by account when logged in, else by cookie.
-- Events of shared cookies (kiosks) that were never logged in stay unattributed (customer_id null).
with

web_events as (select * from {{ ref('stg_web__events') }}),
identities as (select * from {{ ref('int_identities_stitched') }} where customer_id is not null),

attributed as (

    select
        web_events.* exclude (email_hash, phone_hash, user_agent, _delivery_date),
        coalesce(by_account.customer_id, by_cookie.customer_id) as customer_id,
    from web_events
    left join identities as by_account
        on by_account.identifier_type = 'oms_customer_id' and by_account.identifier_value = web_events.user_id
    left join identities as by_cookie
        on by_cookie.identifier_type = 'anonymous_id' and by_cookie.identifier_value = web_events.anonymous_id

),

final as (

    select * from attributed

)

select * from final
