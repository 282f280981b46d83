-- The identity audit: one row per link between two identifiers, with the source row that first
-- made it, how often it was seen, and whether the over-merge guard cut it. With customer_merges
-- this explains every customer id: which evidence joined which identifiers. Emails and phones
-- appear only as salted hashes.
with

edges as (select * from {{ ref('int_identity_edges') }}),
identities as (select * from {{ ref('int_identities_stitched') }}),

links as (

    -- each undirected link once
    select * from edges
    where (type_a, value_a) < (type_b, value_b)

),

final as (

    select
        links.type_a as identifier_type_a,
        links.value_a as identifier_value_a,
        links.type_b as identifier_type_b,
        links.value_b as identifier_value_b,
        links.linked_by,
        links.first_source_file,
        links.first_source_line,
        links.times_seen,
        coalesce(a.is_shared_identifier or b.is_shared_identifier, false) as is_cut_by_guard,
        case when not coalesce(a.is_shared_identifier or b.is_shared_identifier, false) then a.customer_id end as customer_id,
    from links
    left join identities as a on a.identifier_type = links.type_a and a.identifier_value = links.value_a
    left join identities as b on b.identifier_type = links.type_b and b.identifier_value = links.value_b

)

select * from final
