-- One row per change of customer id between runs: a merge (an id retired, its identifiers now
-- belong to another customer) or a split (some identifiers moved to a new customer). Feature consumers and training sets follow retired ids here.
-- Appended run by run; never rebuilt from scratch.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
    )
}}

with

registry as (select * from {{ ref('int_customer_id_registry') }}),

moved as (

    select
        previous_customer_id,
        customer_id,
        changed_at,
        count(*) as identifiers_moved,
        list(identifier_type order by identifier_type) as identifier_types_moved,
    from registry
    where previous_customer_id is not null
      and customer_id is not null
      and previous_customer_id <> customer_id
      and changed_at = cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
    group by all

),

still_held as (

    select distinct customer_id from registry where customer_id is not null

),

final as (

    select
        moved.previous_customer_id as from_customer_id,
        moved.customer_id as to_customer_id,
        -- merge: the old id is gone, all its identifiers now belong to to_customer_id;
        -- split: the old id lives on, some of its identifiers moved to a new customer
        case when still_held.customer_id is null then 'merge' else 'split' end as change_type,
        moved.identifiers_moved,
        moved.identifier_types_moved,
        moved.changed_at,
    from moved
    left join still_held on still_held.customer_id = moved.previous_customer_id

)

select * from final
