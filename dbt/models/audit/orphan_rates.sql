-- One row per orphan kind (also when it has none): child rows with a parent key, orphans among
-- them, the rate, and the limit above which the orphan_rate_within_limit check fails (dbt var
-- max_orphan_rate, from RCL_MAX_ORPHAN_RATE).
with

orphans as (select * from {{ ref('orphans') }}),

children as (

    {% for kind, child, child_key, foreign_key, parent, parent_key in orphan_kinds() %}
    select '{{ kind }}' as orphan_kind, count(*) as child_rows
    from {{ ref(child) }}
    where {{ foreign_key }} is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

counted as (

    select orphan_kind, count(*) as orphan_rows from orphans group by all

),

final as (

    select
        children.orphan_kind,
        children.child_rows,
        coalesce(counted.orphan_rows, 0) as orphan_rows,
        cast(coalesce(counted.orphan_rows, 0) as double) / nullif(children.child_rows, 0) as orphan_rate,
        cast({{ var('max_orphan_rate') }} as double) as max_orphan_rate,
    from children
    left join counted using (orphan_kind)

)

select
    orphan_kind, child_rows, orphan_rows, coalesce(orphan_rate, 0) as orphan_rate, max_orphan_rate,
    coalesce(orphan_rate, 0) > max_orphan_rate as is_above_limit,
from final
