-- One row per identity-resolved customer: who they are across systems (counts of identifiers,
-- never the identifiers' clear text), when they were first and last seen, lifetime figures and
-- consent. Anonymous visitors who never identified themselves are customers too (is_known false).
with

identities as (select * from {{ ref('int_identities_stitched') }} where customer_id is not null),
activity as (select * from {{ ref('int_customer_activity_daily') }}),
orders as (select * from {{ ref('orders') }}),
web_events as (select * from {{ ref('int_web_events_attributed') }}),
crm_customers as (select * from {{ ref('stg_crm__customers') }}),
consents as (select * from {{ ref('stg_crm__marketing_consents') }}),

identity_summary as (

    select
        customer_id,
        count(*) filter (where identifier_type = 'anonymous_id') as anonymous_ids,
        count(*) filter (where identifier_type = 'oms_customer_id') as oms_accounts,
        count(*) filter (where identifier_type = 'crm_customer_id') as crm_records,
        count(*) filter (where identifier_type = 'email_hash') as emails,
        any_value(anchor_identifier_type) as anchor_identifier_type,
    from identities
    group by customer_id

),

crm_profile as (

    -- the most recently updated CRM record of the customer (records updated at the same moment:
    -- the highest CRM id, so that the pick never depends on the scan order)
    select identities.customer_id,
           arg_max(crm_customers.country, (crm_customers.updated_at, crm_customers.crm_customer_id)) as country,
           arg_max(crm_customers.city, (crm_customers.updated_at, crm_customers.crm_customer_id)) as city,
           min(crm_customers.created_at) as crm_created_at,
    from crm_customers
    inner join identities
        on identities.identifier_type = 'crm_customer_id' and identities.identifier_value = crm_customers.crm_customer_id
    group by identities.customer_id

),

email_consent as (

    -- the latest email consent change across the customer's CRM records is in force
    select identities.customer_id,
           arg_max(consents.is_granted, (consents.recorded_at, consents.consent_event_id)) as is_email_marketable,
    from consents
    inner join identities
        on identities.identifier_type = 'crm_customer_id' and identities.identifier_value = consents.crm_customer_id
    where consents.channel = 'email'
    group by identities.customer_id

),

first_touch as (

    select customer_id,
           arg_min(
               case
                   when utm_medium is not null then lower(utm_medium)
                   when referrer ilike '%google.%' or referrer ilike '%bing.%' then 'organic_search'
                   when referrer is not null and referrer <> '' then 'referral'
                   else 'direct'
               end,
               (event_at, event_id)
           ) as web_acquisition_channel,
           min(event_at) as first_web_event_at,
    from web_events
    where customer_id is not null
    group by customer_id

),

order_summary as (

    select customer_id,
           min(ordered_at) as first_order_at,
           max(ordered_at) as last_order_at,
           arg_min(channel, (ordered_at, order_id)) as first_order_channel,
    from orders
    where customer_id is not null and not is_cancelled
    group by customer_id

),

lifetime as (

    select customer_id,
           min(activity_date) as first_active_date,
           max(activity_date) as last_active_date,
           sum(orders) as lifetime_orders,
           sum(revenue) as lifetime_revenue,
           sum(units_bought) as lifetime_units_bought,
           sum(units_returned) as lifetime_units_returned,
           sum(support_tickets) as lifetime_support_tickets,
    from activity
    group by customer_id

),

final as (

    select
        identity_summary.customer_id,
        identity_summary.oms_accounts > 0 as is_registered,
        (identity_summary.oms_accounts + identity_summary.crm_records + identity_summary.emails) > 0 as is_known,
        identity_summary.anonymous_ids,
        identity_summary.oms_accounts,
        identity_summary.crm_records,
        identity_summary.emails,
        crm_profile.country,
        crm_profile.city,
        coalesce(email_consent.is_email_marketable, false) as is_email_marketable,
        case
            when first_touch.first_web_event_at is not null
                 and (order_summary.first_order_at is null or first_touch.first_web_event_at <= order_summary.first_order_at)
                then first_touch.web_acquisition_channel
            when order_summary.first_order_channel = 'store' then 'store'
            when order_summary.first_order_channel is not null then 'direct'
            else 'crm_only'
        end as acquisition_channel,
        least(first_touch.first_web_event_at, order_summary.first_order_at, crm_profile.crm_created_at) as first_seen_at,
        lifetime.last_active_date,
        order_summary.first_order_at,
        order_summary.last_order_at,
        coalesce(lifetime.lifetime_orders, 0) as lifetime_orders,
        coalesce(lifetime.lifetime_revenue, 0) as lifetime_revenue,
        coalesce(lifetime.lifetime_units_bought, 0) as lifetime_units_bought,
        coalesce(lifetime.lifetime_units_returned, 0) as lifetime_units_returned,
        coalesce(lifetime.lifetime_support_tickets, 0) as lifetime_support_tickets,
    from identity_summary
    left join crm_profile using (customer_id)
    left join email_consent using (customer_id)
    left join first_touch using (customer_id)
    left join order_summary using (customer_id)
    left join lifetime using (customer_id)

)

select * from final
