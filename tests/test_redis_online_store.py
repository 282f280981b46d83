"""The production online store: the same feature views materialized into a real Redis serve the
same values as the embedded SQLite store."""

from __future__ import annotations

import uuid

import pytest

from dagster_project.feast_ext.feature_tables import FEATURE_VIEWS
from dagster_project.feast_ext.publish import materialize_view
from dagster_project.feast_ext.repo import apply_feature_repo, get_feature_store

from conftest import make_settings

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def test_redis_serves_what_sqlite_serves(pipeline_settings, redis_url, tmp_path):
    project = f"rcl_test_{uuid.uuid4().hex[:10]}"  # own key space in a shared Redis
    settings = make_settings(
        pipeline_settings.data_dir,
        feast_dir=tmp_path / "feast",
        online_store="redis",
        redis_url=redis_url,
        feast_project=project,
    )
    apply_feature_repo(settings)
    for view in FEATURE_VIEWS:
        materialize_view(settings, view)
    redis_store = get_feature_store(settings)
    try:
        sqlite_store = get_feature_store(pipeline_settings)
        import duckdb

        customer_ids = [r[0] for r in duckdb.connect(str(pipeline_settings.warehouse_path), read_only=True).execute(
            "select customer_id from marts.customers order by lifetime_revenue desc, customer_id limit 10").fetchall()]
        rows = [{"customer_id": c} for c in customer_ids]
        features = ["customer_features:orders_lifetime", "customer_features:revenue_lifetime",
                    "customer_features:favourite_category"]
        from_redis = redis_store.get_online_features(features=features, entity_rows=rows).to_dict()
        from_sqlite = get_feature_store(pipeline_settings).get_online_features(features=features, entity_rows=rows).to_dict()
        assert from_redis == from_sqlite
        assert all(v is not None for v in from_redis["orders_lifetime"])
        import redis

        assert redis.Redis.from_url(redis_url).dbsize() > 0
        del sqlite_store
    finally:
        redis_store.teardown()
