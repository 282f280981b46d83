{# The top n items of each product as of every day it gained one, from a relation of
   (product_id, activity_date, item, weight): items ranked by their weight summed over every day
   up to that one (ties by item, so a rebuild gives the same order). Columns: product_id,
   activity_date, item_1..n, weight_1..n, total_weight (every item's, for shares). A product's
   ranking only changes on a day it gained an item, so these sparse rows are read ASOF. #}
{% macro top_items_as_of(daily_items, n) -%}
    select
        product_id,
        activity_date,
        {%- for i in range(1, n + 1) %}
        max(item) filter (where item_rank = {{ i }}) as item_{{ i }},
        max(weight) filter (where item_rank = {{ i }}) as weight_{{ i }},
        {%- endfor %}
        max(total_weight) as total_weight,
    from (
        select
            change_days.product_id,
            change_days.activity_date,
            items.item,
            sum(items.weight) as weight,
            row_number() over (
                partition by change_days.product_id, change_days.activity_date
                order by sum(items.weight) desc, items.item
            ) as item_rank,
            sum(sum(items.weight)) over (partition by change_days.product_id, change_days.activity_date) as total_weight,
        from (select distinct product_id, activity_date from {{ daily_items }}) as change_days
        inner join {{ daily_items }} as items
            on items.product_id = change_days.product_id
           and items.activity_date <= change_days.activity_date
        group by change_days.product_id, change_days.activity_date, items.item
    ) as ranked
    group by product_id, activity_date
{%- endmacro %}
