with

source as (

    select * from {{ source('crm', 'email_events') }}

),

renamed as (

    select
        -- ids
        trim(email_event_id) as email_event_id,
        trim(crm_customer_id) as crm_customer_id,
        trim(campaign_id) as campaign_id,

        -- properties
        lower(trim(event_type)) as event_type,
        nullif(trim(url), '') as url,
        -- subject-line test: the variant this send went out with (null: no test)
        nullif(trim(content_variant_id), '') as content_variant_id,

        -- timestamps (UTC)
        occurred_at,

        -- lineage
        _source_file,
        _source_line,
        _loaded_at

    from source

),

deduplicated as (

    -- Re-delivered events: the latest file wins, the first line within a file.
    select *
    from renamed
    qualify row_number() over (
        partition by email_event_id
        order by _source_file desc, _source_line asc
    ) = 1

),

final as (

    select * from deduplicated

)

select * from final
