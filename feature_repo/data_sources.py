"""Feast data sources: the Parquet files dbt exports from the feature models (dbt/models/features)."""

from feast import FileSource

from dagster_project.settings import get_settings

_features_dir = get_settings().features_dir

customer_features_source = FileSource(
    name="customer_features_source",
    path=str(_features_dir / "customer_features.parquet"),
    timestamp_field="event_timestamp",
    description="dbt model features/customer_features, one row per customer and activity day.",
    tags={"dbt_model": "customer_features"},
)

product_features_source = FileSource(
    name="product_features_source",
    path=str(_features_dir / "product_features.parquet"),
    timestamp_field="event_timestamp",
    description="dbt model features/product_features, one row per product and day.",
    tags={"dbt_model": "product_features"},
)
