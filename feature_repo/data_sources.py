"""Feast data sources: the Parquet files dbt exports from the feature models (dbt/models/features),
and a push source for the cart state the shop's tracking layer sends as it changes.

Paths are relative to the deployment's features folder; applying the repo
(dagster_project/feast_ext/repo.py) resolves them there."""

from feast import FileSource, PushSource

customer_features_source = FileSource(
    name="customer_features_source",
    path="customer_features.parquet",
    timestamp_field="event_timestamp",
    description="dbt model features/customer_features, one row per customer and activity day.",
)

product_features_source = FileSource(
    name="product_features_source",
    path="product_features.parquet",
    timestamp_field="event_timestamp",
    description="dbt model features/product_features, one row per product and day.",
)

cart_features_source = FileSource(
    name="cart_features_source",
    path="cart_features.parquet",
    timestamp_field="event_timestamp",
    description="dbt model features/cart_features, one row per cart of an identified customer.",
)

# The shop's tracking layer pushes each cart change (POST /push on the feature server, or
# FeatureStore.push) so the online cart is fresh within a second; the batch source holds the
# same columns for training sets and the nightly materialization.
cart_features_push = PushSource(
    name="cart_features_push",
    batch_source=cart_features_source,
    description="Cart changes pushed as they happen: customer_id, event_timestamp and the cart_features columns.",
    tags={"producer": "web-tracking"},
)
