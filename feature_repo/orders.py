"""Order status for support assistants: per order (fed in real time by the OMS's status pushes)
and per customer (their latest orders), and the `support_orders_v1` service. Tables:
dbt/models/features/order_status.sql and customer_latest_orders.sql."""

from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, PushSource, ValueType
from feast.types import Float64, Int64, String

from feature_repo.entities import customer

order = Entity(
    name="order",
    join_keys=["order_id"],
    value_type=ValueType.STRING,
    description="An OMS order (dbt model `orders`).",
    tags={"owner": "customer-service", "dbt_model": "orders"},
)

order_status_source = FileSource(
    name="order_status_source",
    path="order_status.parquet",
    timestamp_field="event_timestamp",
    description="dbt model features/order_status, one row per order and status the batch learned.",
)

# The OMS pushes each status change (POST /push, or FeatureStore.push); see docs/availability.md.
order_status_push = PushSource(
    name="order_status_push",
    batch_source=order_status_source,
    description="Order status changes pushed by the OMS: order_id, event_timestamp and the order_status columns.",
    tags={"producer": "oms"},
)

customer_latest_orders_source = FileSource(
    name="customer_latest_orders_source",
    path="customer_latest_orders.parquet",
    timestamp_field="event_timestamp",
    description="dbt model features/customer_latest_orders, one row per customer and change of one of their orders.",
)

order_status = FeatureView(
    name="order_status",
    entities=[order],
    # "Where is my order?" is asked for months after delivery; a year bounds the look-back.
    ttl=timedelta(days=365),
    schema=[
        Field(name="customer_id", dtype=String, description="Customer who placed the order; null for an anonymous order."),
        Field(name="order_status", dtype=String, description="placed, shipped, delivered or cancelled."),
        Field(name="order_status_at", dtype=String, description="When the status began (ISO 8601 UTC): order time for placed, delivery time for delivered, else the day the OMS sent it."),
        Field(name="delivered_at", dtype=String, description="When the order was delivered or collected (ISO 8601 UTC); null until delivered."),
        Field(name="shipping_region", dtype=String, description="State, province or region of the shipping address."),
        Field(name="item_count", dtype=Int64, description="Units ordered (sum of line quantities)."),
        Field(name="order_total", dtype=Float64, description="Amount charged for the order."),
        Field(name="currency", dtype=String, description="ISO 4217 currency of order_total."),
    ],
    source=order_status_push,
    online=True,
    description="An order's status and what support needs to talk about it. Fresh online via OMS pushes.",
)

customer_latest_orders = FeatureView(
    name="customer_latest_orders",
    entities=[customer],
    ttl=timedelta(days=365),
    schema=[
        Field(name="latest_order_ids", dtype=String, description="The customer's latest orders (latest_orders_listed, dbt var), newest first, comma-separated."),
        Field(name="latest_order_statuses", dtype=String, description="The status of each of latest_order_ids at the row's time, same order, comma-separated."),
        Field(name="open_orders", dtype=Int64, description="Orders placed or shipped, not yet delivered or cancelled."),
        Field(name="last_ordered_at", dtype=String, description="When the customer's latest order was placed (ISO 8601 UTC)."),
    ],
    source=customer_latest_orders_source,
    online=True,
    description="A customer's latest orders and their statuses, for support assistants.",
)

support_orders_v1 = FeatureService(
    name="support_orders_v1",
    features=[order_status],
    description="Support assistants answering about one order ('your order ships Thursday').",
    tags={"owner": "customer-service", "consumer": "support-assistant"},
)

support_customer_orders_v1 = FeatureService(
    name="support_customer_orders_v1",
    features=[customer_latest_orders],
    description="Support assistants answering a customer about their recent orders.",
    tags={"owner": "customer-service", "consumer": "support-assistant"},
)
