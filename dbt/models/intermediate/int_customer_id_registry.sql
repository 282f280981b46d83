-- The customer id of every identifier, kept stable across runs. Each component of the identity
-- graph keeps the oldest customer id its identifiers already had; when new data joins two
-- customers, the older id survives and the other is retired (see customer_merges). A brand-new
-- component gets an id derived from its anchor identifier, so a first build is reproducible.
-- This table is state: dbt never rebuilds it from scratch (full_refresh: false).
{{
    config(
        materialized='incremental',
        unique_key=['identifier_type', 'identifier_value'],
        incremental_strategy='delete+insert',
        full_refresh=false,
        on_schema_change='fail',
    )
}}

with

components as (select * from {{ ref('int_identity_components') }}),

previous as (

    {% if is_incremental() %}
    select identifier_type, identifier_value, customer_id, first_assigned_at, changed_at
    from {{ this }}
    where customer_id is not null
    {% else %}
    select
        null::varchar as identifier_type,
        null::varchar as identifier_value,
        null::varchar as customer_id,
        null::timestamp as first_assigned_at,
        null::timestamp as changed_at,
    where false
    {% endif %}

),

run as (

    select cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as run_at

),

component_sizes as (

    select component_key, any_value(component_size) as component_size
    from components
    where not is_shared_identifier
    group by component_key

),

claims as (

    -- the oldest customer id already carried by any identifier of the component
    select
        components.component_key,
        first(previous.customer_id order by previous.first_assigned_at, previous.customer_id) as claimed_customer_id,
    from components
    inner join previous using (identifier_type, identifier_value)
    where not components.is_shared_identifier
    group by components.component_key

),

winners as (

    -- a component split in two: the larger part keeps the id
    select
        claims.claimed_customer_id,
        first(claims.component_key order by component_sizes.component_size desc, claims.component_key) as component_key,
    from claims
    inner join component_sizes using (component_key)
    group by claims.claimed_customer_id

),

assigned as (

    select
        component_sizes.component_key,
        case
            when winners.component_key is not null then claims.claimed_customer_id
            when claims.claimed_customer_id is not null
                -- the smaller part of a split: a new id, distinct from the one derived from the anchor
                then 'cus_' || left(sha256(component_sizes.component_key || '#split'), 16)
            else 'cus_' || left(sha256(component_sizes.component_key), 16)
        end as customer_id,
    from component_sizes
    left join claims using (component_key)
    left join winners
        on winners.component_key = component_sizes.component_key
       and winners.claimed_customer_id = claims.claimed_customer_id

),

final as (

    select
        components.identifier_type,
        components.identifier_value,
        assigned.customer_id,
        components.component_key,
        components.anchor_identifier_type,
        components.is_shared_identifier,
        previous.customer_id as previous_customer_id,
        coalesce(previous.first_assigned_at, run.run_at) as first_assigned_at,
        case
            when previous.customer_id is distinct from assigned.customer_id then run.run_at
            else previous.changed_at
        end as changed_at,
    from components
    cross join run
    left join assigned using (component_key)
    left join previous using (identifier_type, identifier_value)

)

select * from final
