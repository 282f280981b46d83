-- One row per identifier with the customer it belongs to (the current state of
-- int_customer_id_registry for the identifiers seen in the sources now). Shared identifiers
-- (kiosk cookies, family laptops) have no customer.
with

registry as (select * from {{ ref('int_customer_id_registry') }}),
components as (select * from {{ ref('int_identity_components') }}),

final as (

    select
        registry.identifier_type,
        registry.identifier_value,
        registry.customer_id,
        registry.anchor_identifier_type,
        registry.is_shared_identifier,
    from registry
    inner join components using (identifier_type, identifier_value)

)

select * from final
