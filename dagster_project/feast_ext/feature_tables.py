"""The feature tables Feast reads: the feature views' names and their Parquet exports (dbt models
of the same name under `settings.features_dir`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq

from dagster_project.settings import Settings

# The feature views, each reading the Parquet export of the dbt model of the same name.
FEATURE_VIEWS = (
    "customer_features", "product_features", "cart_features",
    "product_content_features", "cart_recovery_features",
    "stock_by_location", "stock_by_product", "order_status", "customer_latest_orders",
    "customer_profile_features", "customer_consent_features", "customer_return_features", "product_return_features",
    "content_variant_features",
)


def feature_table_path(settings: Settings, view_name: str) -> Path:
    return settings.features_dir / f"{view_name}.parquet"


def feature_table_is_empty(path: Path) -> bool:
    """No row, or the one all-null row dbt-duckdb writes for an `external` model whose query
    returned nothing (so that the file keeps its schema): a source not delivered (no web
    analytics, hence no carts)."""
    metadata = pq.ParquetFile(path).metadata
    if metadata.num_rows != 1:
        return metadata.num_rows == 0
    return all(value is None for value in pq.read_table(path).to_pylist()[0].values())


def event_time_range(path: Path) -> tuple[datetime, datetime]:
    """Min and max event_timestamp of a feature table, read from Parquet statistics."""
    import pyarrow.compute as pc

    column = pq.read_table(path, columns=["event_timestamp"]).column("event_timestamp")
    bounds = pc.min_max(column)
    return bounds["min"].as_py(), bounds["max"].as_py()
