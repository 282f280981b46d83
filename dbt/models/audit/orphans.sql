-- One row per child row whose parent is unknown (see macros/orphan_kinds.sql): an order line of
-- an order or product not loaded, stock at an unknown location, a return for an order not loaded...
-- The rows stay in the marts with the parent's attributes null; a later run that has the parent
-- joins them and they leave this table.
with

{% for kind, child, child_key, foreign_key, parent, parent_key in orphan_kinds() %}
{{ kind }} as (

    select
        '{{ kind }}' as orphan_kind,
        '{{ child }}' as child_model,
        cast(child.{{ child_key }} as varchar) as child_id,
        '{{ parent }}' as parent_model,
        cast(child.{{ foreign_key }} as varchar) as missing_parent_id,
    from {{ ref(child) }} as child
    where child.{{ foreign_key }} is not null
      and not exists (
          select 1 from {{ ref(parent) }} as parent where parent.{{ parent_key }} = child.{{ foreign_key }}
      )

),
{% endfor %}

final as (

    {% for kind in orphan_kinds() %}
    select * from {{ kind[0] }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from final
