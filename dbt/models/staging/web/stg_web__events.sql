{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ delete_delivery_window() }}",
        tags=['daily'],
    )
}}
-- Incremental: a daily partition loads the rows delivered in its window (see
-- macros/incremental_window.sql); a later delivery of the same event_id replaces the row.

with

source as (

    select * from {{ source('web', 'events') }}
    {% if is_incremental() %} where {{ in_delivery_window() }} {% endif %}

),

flattened as (

    select
        -- ids
        trim(message_id) as event_id,
        trim(anonymous_id) as anonymous_id,
        -- the web shop logs in against the OMS: user_id is an OMS customer account id
        nullif(trim(user_id), '') as user_id,

        -- what happened
        lower(trim(type)) as event_type,
        case
            when lower(trim(type)) = 'page' then {{ event_name('page_viewed') }}
            else nullif(trim(event), '')
        end as event_name,

        -- timestamps (UTC)
        "timestamp" as event_at,
        cast("timestamp" as date) as event_date,

        -- context: page, device, campaign (UTM), app. context.ip is PII and is not selected.
        nullif(trim(json_extract_string(context, '$.page.path')), '') as page_path,
        nullif(trim(json_extract_string(context, '$.page.url')), '') as page_url,
        nullif(trim(json_extract_string(context, '$.page.title')), '') as page_title,
        nullif(trim(json_extract_string(context, '$.page.referrer')), '') as referrer,
        nullif(lower(trim(json_extract_string(context, '$.device.type'))), '') as device_type,
        nullif(trim(json_extract_string(context, '$.user_agent')), '') as user_agent,
        nullif(lower(trim(json_extract_string(context, '$.campaign.source'))), '') as utm_source,
        nullif(lower(trim(json_extract_string(context, '$.campaign.medium'))), '') as utm_medium,
        nullif(trim(json_extract_string(context, '$.campaign.name')), '') as utm_campaign,
        nullif(trim(json_extract_string(context, '$.app.version')), '') as app_version,

        -- properties (track and page calls)
        nullif(trim(json_extract_string(properties, '$.product_id')), '') as product_id,
        nullif(trim(json_extract_string(properties, '$.cart_id')), '') as cart_id,
        nullif(lower(trim(json_extract_string(properties, '$.query'))), '') as search_query,
        try_cast(json_extract_string(properties, '$.step') as integer) as checkout_step,
        try_cast(json_extract_string(properties, '$.quantity') as integer) as quantity,
        try_cast(json_extract_string(properties, '$.price') as decimal(12, 2)) as price,
        try_cast(json_extract_string(properties, '$.shipping_amount') as decimal(12, 2)) as shipping_amount,
        nullif(trim(json_extract_string(properties, '$.order_id')), '') as order_id,
        try_cast(json_extract_string(properties, '$.revenue') as decimal(12, 2)) as revenue,
        nullif(upper(trim(json_extract_string(properties, '$.currency'))), '') as currency,

        -- content test: the variant of the page's copy shown (null: no test on the page)
        nullif(trim(content_variant_id), '') as content_variant_id,

        -- traits (identify calls), hashed: clear-text email and phone stay in raw
        {{ hash_email("json_extract_string(traits, '$.email')") }} as email_hash,
        {{ hash_phone("json_extract_string(traits, '$.phone')") }} as phone_hash,

        -- lineage
        _source_file,
        _source_line,
        _loaded_at,
        _delivery_date

    from source

),

deduplicated as (

    -- Retries repeat the message_id. Per the source contract a later file with the same id is
    -- a correction and wins; within one file the first line is kept.
    select *
    from flattened
    qualify row_number() over (
        partition by event_id
        order by _source_file desc, _source_line asc
    ) = 1

),

latest as (

    {{ not_superseded_by_a_later_file('deduplicated', 'event_id') }}

),

final as (

    select * from latest

)

select * from final
