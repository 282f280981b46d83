"""Feast feature views over the dbt feature models.

Each row of a feature table is computed from data up to the end of its `feature_date` and is
stamped `event_timestamp = feature_date + 1 day` (midnight UTC after the day closed), so a
point-in-time join never hands a label a value computed from its own future.

Lineage tags (owner, dbt model, source systems) come from the dbt manifest when the repo is
applied (dagster_project/feast_ext/repo.py); the owner is the model's `meta.owner` in dbt.
"""

from datetime import timedelta

from feast import FeatureView, Field
from feast.types import Bool, Float64, Int64, String

from feature_repo.data_sources import cart_features_push, customer_features_source, product_features_source
from feature_repo.entities import customer, product

customer_features = FeatureView(
    name="customer_features",
    entities=[customer],
    # Look-back of point-in-time joins: a customer inactive for a year has no features.
    ttl=timedelta(days=365),
    schema=[
        Field(name="orders_lifetime", dtype=Int64, description="Orders placed up to the day (cancelled excluded)."),
        Field(name="revenue_lifetime", dtype=Float64, description="Order totals up to the day."),
        Field(name="avg_order_value", dtype=Float64, description="revenue_lifetime / orders_lifetime."),
        Field(name="orders_90d", dtype=Int64, description="Orders in the 90 days ending on the day."),
        Field(name="revenue_90d", dtype=Float64, description="Order totals in the 90 days ending on the day."),
        Field(name="units_returned_lifetime", dtype=Int64, description="Units returned up to the day."),
        Field(name="return_rate", dtype=Float64, description="Units returned / units bought, up to the day."),
        Field(name="product_views_30d", dtype=Int64, description="Product detail views in 30 days."),
        Field(name="add_to_carts_30d", dtype=Int64, description="Add-to-cart events in 30 days."),
        Field(name="searches_30d", dtype=Int64, description="Site searches in 30 days."),
        Field(name="support_tickets_90d", dtype=Int64, description="Support tickets opened in 90 days."),
        Field(name="email_opens_90d", dtype=Int64, description="Marketing email opens in 90 days."),
        Field(name="email_clicks_90d", dtype=Int64, description="Marketing email clicks in 90 days."),
        Field(name="days_since_first_seen", dtype=Int64, description="Days from the first touchpoint to the day."),
        Field(name="favourite_category", dtype=String, description="Top-level category with the most spend up to the day."),
        Field(name="preferred_device", dtype=String, description="Device type with the most web events up to the day."),
    ],
    source=customer_features_source,
    online=True,
    description="Purchase, return, browsing, support and email behaviour per customer, as of each activity day.",
)

product_features = FeatureView(
    name="product_features",
    entities=[product],
    ttl=timedelta(days=30),
    schema=[
        Field(name="price", dtype=Float64, description="List price on the day (PIM)."),
        Field(name="category_level_1", dtype=String, description="Top-level category."),
        Field(name="brand", dtype=String, description="Brand."),
        Field(name="is_active", dtype=Bool, description="Sellable on the day."),
        Field(name="product_views_7d", dtype=Int64, description="Product detail views in 7 days."),
        Field(name="add_to_carts_7d", dtype=Int64, description="Add-to-cart events in 7 days."),
        Field(name="units_sold_30d", dtype=Int64, description="Units ordered in 30 days."),
        Field(name="revenue_30d", dtype=Float64, description="Line revenue in 30 days."),
        Field(name="view_to_order_rate_30d", dtype=Float64, description="Order lines / product views in 30 days."),
        Field(name="return_rate_90d", dtype=Float64, description="Units returned / units sold in 90 days."),
        Field(name="review_count", dtype=Int64, description="Reviews up to the day."),
        Field(name="avg_rating", dtype=Float64, description="Mean review rating up to the day."),
        Field(name="units_on_hand", dtype=Int64, description="Units on hand across locations, end of day."),
        Field(name="units_available", dtype=Int64, description="Available to promise (on hand - reserved) across locations."),
        Field(name="locations_in_stock", dtype=Int64, description="Locations with units available."),
        Field(name="stores_in_stock", dtype=Int64, description="Stores with units available (for pick-up messages)."),
        Field(name="is_in_stock", dtype=Bool, description="Any unit available anywhere."),
        Field(name="stock_counted_on", dtype=String, description="Date (YYYY-MM-DD) of the oldest stock count behind the availability figures (a later count that found the same figures may exist); their age is at most the serving day minus this date."),
    ],
    source=product_features_source,
    online=True,
    description="Price, demand, returns, reviews and availability per product, as of each day.",
)

cart_features = FeatureView(
    name="cart_features",
    entities=[customer],
    # A cart untouched for two weeks is no longer "the customer's cart".
    ttl=timedelta(days=14),
    schema=[
        Field(name="cart_id", dtype=String, description="The cart the row describes."),
        Field(name="cart_value", dtype=Float64, description="Value of the items in the cart (added minus removed, at the prices shown)."),
        Field(name="cart_items", dtype=Int64, description="Items added minus items removed."),
        Field(name="cart_checkout_step", dtype=Int64, description="Furthest checkout step reached (0 none, 1 cart, 2 shipping, 3 payment, 4 review)."),
        Field(name="cart_shipping_amount_seen", dtype=Float64, description="The last shipping cost shown to the customer, if checkout got that far."),
        Field(name="cart_ordered", dtype=Bool, description="Whether the cart became an order."),
        Field(name="cart_device", dtype=String, description="Device type the cart was created on."),
    ],
    # Pushed online as carts change; materialized nightly from the batch source behind the push source.
    source=cart_features_push,
    online=True,
    description="The customer's latest cart: value, items, checkout step and shipping cost seen. Fresh online via pushes.",
)
