-- Lifetime revenue in the latest customer feature row equals the customer's non-cancelled order
-- totals in the orders mart: attribution must not lose or double-count orders.
with latest as (
    select customer_id, arg_max(revenue_lifetime, event_timestamp) as revenue_lifetime
    from {{ ref('customer_features') }}
    group by all
),
orders as (
    select customer_id, sum(total_amount) as revenue
    from {{ ref('orders') }}
    where not is_cancelled and customer_id is not null
    group by all
)
select orders.customer_id, orders.revenue, latest.revenue_lifetime
from orders
left join latest using (customer_id)
where latest.revenue_lifetime is null or abs(latest.revenue_lifetime - orders.revenue) > 0.005
