with

source as (

    select * from {{ source('crm', 'support_tickets') }}

),

renamed as (

    select
        -- ids
        trim(ticket_id) as ticket_id,
        nullif(trim(crm_customer_id), '') as crm_customer_id,
        nullif(trim(order_id), '') as order_id,

        -- pii, hashed
        {{ hash_email('email') }} as email_hash,

        -- properties
        lower(trim(channel)) as channel,
        lower(trim(topic)) as topic,
        lower(trim(status)) as status,
        lower(trim(priority)) as priority,
        satisfaction_score,
        solved_at is not null as is_solved,

        -- timestamps (UTC)
        created_at,
        solved_at,

        -- lineage
        _source_file,
        _source_line,
        _loaded_at

    from source

),

deduplicated as (

    -- A ticket is re-sent in a later file as its status changes: the latest file wins,
    -- the first line within a file.
    select *
    from renamed
    qualify row_number() over (
        partition by ticket_id
        order by _source_file desc, _source_line asc
    ) = 1

),

final as (

    select * from deduplicated

)

select * from final
