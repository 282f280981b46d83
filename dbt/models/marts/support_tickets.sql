-- One row per support ticket with the identity-resolved customer (by CRM record, else by the
-- requester's email) and time to resolution.
with

tickets as (select * from {{ ref('stg_crm__support_tickets') }}),
identities as (select * from {{ ref('int_identities_stitched') }} where customer_id is not null),

final as (

    select
        tickets.ticket_id,
        coalesce(by_crm.customer_id, by_email.customer_id) as customer_id,
        tickets.crm_customer_id,
        tickets.order_id,
        tickets.channel,
        tickets.topic,
        tickets.status,
        tickets.priority,
        tickets.is_solved,
        tickets.satisfaction_score,
        tickets.created_at,
        tickets.solved_at,
        date_diff('minute', tickets.created_at, tickets.solved_at) / 60.0 as hours_to_solve,
    from tickets
    left join identities as by_crm
        on by_crm.identifier_type = 'crm_customer_id' and by_crm.identifier_value = tickets.crm_customer_id
    left join identities as by_email
        on by_email.identifier_type = 'email_hash' and by_email.identifier_value = tickets.email_hash

)

select * from final
