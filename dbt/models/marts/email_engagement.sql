-- One row per customer and email campaign: sent, opened, clicked, bounced, unsubscribed, with
-- the first time of each.
with

email_events as (select * from {{ ref('stg_crm__email_events') }}),
identities as (select * from {{ ref('int_identities_stitched') }} where customer_id is not null),

final as (

    select
        identities.customer_id,
        email_events.campaign_id,
        min(email_events.occurred_at) filter (where email_events.event_type = 'send') as sent_at,
        min(email_events.occurred_at) filter (where email_events.event_type = 'open') as first_opened_at,
        min(email_events.occurred_at) filter (where email_events.event_type = 'click') as first_clicked_at,
        count(*) filter (where email_events.event_type = 'open') as opens,
        count(*) filter (where email_events.event_type = 'click') as clicks,
        bool_or(email_events.event_type = 'open') as is_opened,
        bool_or(email_events.event_type = 'click') as is_clicked,
        bool_or(email_events.event_type = 'bounce') as is_bounced,
        bool_or(email_events.event_type = 'unsubscribe') as is_unsubscribed,
    from email_events
    inner join identities
        on identities.identifier_type = 'crm_customer_id' and identities.identifier_value = email_events.crm_customer_id
    group by identities.customer_id, email_events.campaign_id

)

select * from final
