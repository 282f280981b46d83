-- One row per identifier with its connected component in the identity graph
-- (int_identity_edges) after the over-merge guard. A component is keyed by its most stable
-- identifier (OMS account, then CRM record, email, phone, cookie, order); customer ids are
-- assigned to components in int_customer_id_registry, which keeps them stable across runs.
with

edges as (select * from {{ ref('int_identity_edges') }}),

neighbour_counts as (

    select
        type_a as identifier_type,
        value_a as identifier_value,
        count(distinct value_b) filter (where type_b = 'oms_customer_id') as linked_accounts,
        count(distinct value_b) filter (where type_b = 'email_hash') as linked_emails,
    from edges
    where not (type_a = type_b and value_a = value_b)
    group by all

),

shared_identifiers as (

    -- A store kiosk or a family laptop is seen with many accounts/emails: it links nobody. A
    -- browser cookie logged into two accounts is already a shared device (a person's duplicate
    -- accounts still join through their email, phone or CRM record), so cookies get their own cap.
    select identifier_type, identifier_value
    from neighbour_counts
    where linked_accounts > case when identifier_type = 'anonymous_id'
                                 then {{ var('identity_max_accounts_per_cookie') }}
                                 when identifier_type = 'email_hash'
                                 then {{ var('identity_max_accounts_per_email') }}
                                 else {{ var('identity_max_accounts_per_identifier') }} end
       or linked_emails > {{ var('identity_max_emails_per_identifier') }}

),

usable_edges as (

    select
        -- the prefix orders identifiers so that a component is named after its most stable one
        case edges.type_a when 'oms_customer_id' then '1' when 'crm_customer_id' then '2'
             when 'email_hash' then '3' when 'phone_hash' then '4' when 'anonymous_id' then '5' else '6' end
            || edges.type_a || ':' || edges.value_a as node_a,
        case edges.type_b when 'oms_customer_id' then '1' when 'crm_customer_id' then '2'
             when 'email_hash' then '3' when 'phone_hash' then '4' when 'anonymous_id' then '5' else '6' end
            || edges.type_b || ':' || edges.value_b as node_b
    from edges
    left join shared_identifiers as shared_a
        on edges.type_a = shared_a.identifier_type and edges.value_a = shared_a.identifier_value
    left join shared_identifiers as shared_b
        on edges.type_b = shared_b.identifier_type and edges.value_b = shared_b.identifier_value
    where shared_a.identifier_value is null and shared_b.identifier_value is null

),

nodes as (

    select node_a as node_id from usable_edges
    union
    select node_b from usable_edges

),

reachable (node_id, component_node_id) as (

    -- transitive closure per component; components are small (one person's identifiers)
    -- because shared identifiers were cut above
    with recursive walk(node_id, component_node_id) as (
        select node_id, node_id from nodes
        union
        select usable_edges.node_b, walk.component_node_id
        from walk
        inner join usable_edges on walk.node_id = usable_edges.node_a
    )
    select node_id, min(component_node_id) from walk group by node_id

),

component_sizes as (

    select component_node_id, count(*) as component_size
    from reachable
    group by component_node_id

),

final as (

    select
        regexp_extract(reachable.node_id, '^[0-9]([a-z_]+):', 1) as identifier_type,
        regexp_replace(reachable.node_id, '^[0-9][a-z_]+:', '') as identifier_value,
        reachable.component_node_id as component_key,
        regexp_extract(reachable.component_node_id, '^[0-9]([a-z_]+):', 1) as anchor_identifier_type,
        component_sizes.component_size,
        false as is_shared_identifier,
    from reachable
    inner join component_sizes using (component_node_id)

    union all

    select
        identifier_type,
        identifier_value,
        null as component_key,
        null as anchor_identifier_type,
        null as component_size,
        true as is_shared_identifier,
    from shared_identifiers

)

select * from final
