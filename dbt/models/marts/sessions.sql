-- One row per web session: a device's events with no gap longer than var
-- session_timeout_minutes (sessionised incrementally in int_sessions). Landing page, traffic
-- source (UTM, else referrer class), device, funnel depth and whether it ended in an order,
-- with the customer it belongs to: the account logged in during the session, else the cookie's.
with

sessions as (select * from {{ ref('int_sessions') }}),
identities as (select * from {{ ref('int_identities_stitched') }} where customer_id is not null),

final as (

    select
        sessions.session_id,
        sessions.anonymous_id,
        coalesce(by_account.customer_id, by_cookie.customer_id) as customer_id,
        sessions.* exclude (session_id, anonymous_id, user_id),
    from sessions
    left join identities as by_account
        on by_account.identifier_type = 'oms_customer_id' and by_account.identifier_value = sessions.user_id
    left join identities as by_cookie
        on by_cookie.identifier_type = 'anonymous_id' and by_cookie.identifier_value = sessions.anonymous_id

)

select * from final
