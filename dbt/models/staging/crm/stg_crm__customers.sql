with

source as (

    select * from {{ source('crm', 'customers') }}

),

renamed as (

    select
        -- ids
        trim(crm_customer_id) as crm_customer_id,
        nullif(trim(oms_customer_id), '') as oms_customer_id,

        -- pii, hashed: names, street address and postcode are dropped
        {{ hash_email('email') }} as email_hash,
        {{ hash_phone('phone') }} as phone_hash,

        -- properties
        nullif(trim(city), '') as city,
        nullif(trim(region), '') as region,
        nullif(upper(trim(country)), '') as country,
        birth_year,

        -- timestamps (UTC)
        created_at,
        updated_at,

        -- lineage
        _source_file,
        _source_line,
        _loaded_at

    from source

),

deduplicated as (

    -- Upserts: the latest updated_at wins; on a tie, the latest file and line.
    select *
    from renamed
    qualify row_number() over (
        partition by crm_customer_id
        order by updated_at desc, _source_file desc, _source_line desc
    ) = 1

),

final as (

    select * from deduplicated

)

select * from final
