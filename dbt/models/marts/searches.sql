-- One row per site search with its normalised terms.
with

events as (select * from {{ ref('int_web_events_attributed') }}),

final as (

    select
        event_id as search_id,
        customer_id,
        anonymous_id,
        search_query,
        len(string_split(search_query, ' ')) as search_terms,
        event_at as searched_at,
        event_date as searched_date,
        device_type,
    from events
    where event_name = {{ event_name('products_searched') }} and search_query is not null and search_query <> ''

)

select * from final
