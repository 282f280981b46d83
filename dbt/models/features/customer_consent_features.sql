-- One row per customer and moment their marketing consent changed (CRM consent events): the
-- consent in force per channel (email, sms, personalization) after that change, and when each
-- channel's consent was last recorded. event_timestamp is the change's recorded_at, so a
-- point-in-time read sees exactly the consents in force at that instant. A customer merged from
-- several CRM records takes the latest change per channel across them. No PII: only customer_id.
with

consents as (select * from {{ ref('stg_crm__marketing_consents') }}),
identities as (select * from {{ ref('int_identities_stitched') }} where customer_id is not null),

customer_consents as (

    select
        identities.customer_id,
        consents.channel,
        consents.is_granted,
        consents.recorded_at,
        consents.consent_event_id,
    from consents
    inner join identities
        on identities.identifier_type = 'crm_customer_id' and identities.identifier_value = consents.crm_customer_id
    where consents.channel in ('email', 'sms', 'personalization') and consents.recorded_at is not null

),

change_times as (

    select distinct customer_id, recorded_at as changed_at from customer_consents

),

in_force as (

    -- per change time and channel, the latest change recorded up to then (ties: the later event id)
    select
        change_times.customer_id,
        change_times.changed_at,
        customer_consents.channel,
        arg_max(customer_consents.is_granted, (customer_consents.recorded_at, customer_consents.consent_event_id)) as is_granted,
        max(customer_consents.recorded_at) as recorded_at,
    from change_times
    inner join customer_consents
        on customer_consents.customer_id = change_times.customer_id
       and customer_consents.recorded_at <= change_times.changed_at
    group by all

),

final as (

    select
        customer_id,
        cast(changed_at as timestamp) as event_timestamp,
        bool_or(is_granted) filter (where channel = 'email') as email_consent,
        cast(max(recorded_at) filter (where channel = 'email') as timestamp) as email_consent_as_of,
        bool_or(is_granted) filter (where channel = 'sms') as sms_consent,
        cast(max(recorded_at) filter (where channel = 'sms') as timestamp) as sms_consent_as_of,
        bool_or(is_granted) filter (where channel = 'personalization') as personalization_consent,
        cast(max(recorded_at) filter (where channel = 'personalization') as timestamp) as personalization_consent_as_of,
    from in_force
    group by customer_id, changed_at

)

select * from final
order by customer_id, event_timestamp
