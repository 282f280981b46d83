-- Feast needs one row per entity and event_timestamp; duplicates would make point-in-time joins ambiguous.
select 'customer_features' as feature_table, customer_id as entity_id, event_timestamp, count(*) as row_count
from {{ ref('customer_features') }}
group by all
having count(*) > 1
union all
select 'product_features', product_id, event_timestamp, count(*)
from {{ ref('product_features') }}
group by all
having count(*) > 1
union all
select 'cart_features', customer_id, event_timestamp, count(*)
from {{ ref('cart_features') }}
group by all
having count(*) > 1
