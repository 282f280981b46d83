with

source as (

    select * from {{ source('crm', 'marketing_consents') }}

),

renamed as (

    select
        -- ids
        trim(consent_event_id) as consent_event_id,
        trim(crm_customer_id) as crm_customer_id,

        -- properties
        lower(trim(channel)) as channel,
        is_granted,
        lower(trim(source.source)) as consent_source,

        -- timestamps (UTC)
        recorded_at,

        -- lineage
        _source_file,
        _source_line,
        _loaded_at

    from source

),

deduplicated as (

    -- Re-delivered consent changes: the latest file wins, the first line within a file.
    -- (Which change is in force per record and channel is decided downstream.)
    select *
    from renamed
    qualify row_number() over (
        partition by consent_event_id
        order by _source_file desc, _source_line asc
    ) = 1

),

final as (

    select * from deduplicated

)

select * from final
