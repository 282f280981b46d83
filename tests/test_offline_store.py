"""Training sets through dagster_project/offline_store.py (DuckDB ASOF joins) equal Feast's own
DuckDB point-in-time join, column for column and dtype for dtype, on the session pipeline's
real feature tables - including the edges where point-in-time correctness lives: an entity
timestamp equal to a feature row's, one microsecond before the first row, exactly at the TTL
limit and one second past it, unknown entities, duplicate entity rows, several views and full
feature names."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

import dagster_project.offline_store as offline_store
from dagster_project.feature_store import feature_table_path, get_feature_store


def _retrieve(store, entity_df, features, *, asof: bool, full_feature_names=False, monkeypatch=None):
    """get_historical_features through the ASOF path (asserting it was taken) or Feast's."""
    taken = []
    original = offline_store.asof_historical_features

    def spy(*args, **kwargs):
        job = original(*args, **kwargs) if asof else None
        taken.append(job is not None)
        return job

    monkeypatch.setattr(offline_store, "asof_historical_features", spy)
    frame = store.get_historical_features(entity_df=entity_df.copy(), features=features,
                                          full_feature_names=full_feature_names).to_df()
    monkeypatch.setattr(offline_store, "asof_historical_features", original)
    assert taken == [asof]
    return frame


def _same(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> None:
    assert list(a.columns) == list(b.columns)
    order = keys + [c for c in a.columns if c not in keys]
    a = a.sort_values(order, na_position="first").reset_index(drop=True)
    b = b.sort_values(order, na_position="first").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def _edge_rows(settings, view: str, key: str, ttl: timedelta) -> pd.DataFrame:
    """Entity rows at the point-in-time edges of one entity's feature rows."""
    path = feature_table_path(settings, view)
    entity, first, last = duckdb.sql(
        f"select {key}, min(event_timestamp), max(event_timestamp) from read_parquet('{path}') "
        f"group by {key} order by count(*) desc, {key} limit 1"
    ).fetchall()[0]
    times = [first - timedelta(microseconds=1), first, first + timedelta(hours=1), last,
             last + ttl, last + ttl + timedelta(seconds=1)]
    rows = pd.DataFrame({key: [entity] * len(times) + ["__nobody__", entity],
                         "event_timestamp": times + [last, last]})  # unknown entity; a duplicate row
    rows["event_timestamp"] = pd.to_datetime(rows["event_timestamp"]).dt.tz_localize("UTC")
    return rows


def test_customer_training_set_equals_feasts_on_random_and_edge_rows(pipeline_settings, monkeypatch):
    store = get_feature_store(pipeline_settings)
    view = store.get_feature_view("customer_features")
    path = feature_table_path(pipeline_settings, "customer_features")
    ids = [r[0] for r in duckdb.sql(f"select distinct customer_id from read_parquet('{path}') order by 1").fetchall()]
    rng = np.random.default_rng(7)
    n = 5000
    lo, hi = duckdb.sql(f"select min(event_timestamp), max(event_timestamp) from read_parquet('{path}')").fetchall()[0]
    span = int((hi - lo).total_seconds()) + 40 * 86400
    entity_df = pd.DataFrame({
        "customer_id": [ids[i] for i in rng.integers(0, len(ids), n)],
        "event_timestamp": pd.Timestamp(lo, tz="UTC") - pd.Timedelta(days=20)
        + pd.to_timedelta(rng.integers(0, span, n), unit="s"),
        "label": rng.integers(0, 2, n),  # extra entity columns come back unchanged
    })
    edges = _edge_rows(pipeline_settings, "customer_features", "customer_id", view.ttl)
    edges["label"] = 1
    entity_df = pd.concat([entity_df, edges], ignore_index=True)
    features = [f"customer_features:{f.name}" for f in view.features]

    ours = _retrieve(store, entity_df, features, asof=True, monkeypatch=monkeypatch)
    feasts = _retrieve(store, entity_df, features, asof=False, monkeypatch=monkeypatch)
    _same(ours, feasts, ["customer_id", "event_timestamp", "label"])
    # the ASOF path keeps the entity rows in their input order
    assert ours["customer_id"].tolist() == entity_df["customer_id"].tolist()
    # the edges behave as point-in-time correctness requires
    tail = ours.iloc[-len(edges):].reset_index(drop=True)
    found = tail["orders_lifetime"].notna().tolist()
    assert found == [False, True, True, True, True, False, False, True]
    assert 0.2 < ours["orders_lifetime"].notna().mean() < 1


def test_several_views_full_feature_names_and_string_timestamps_equal_feasts(pipeline_settings, monkeypatch):
    store = get_feature_store(pipeline_settings)
    cust = feature_table_path(pipeline_settings, "customer_features")
    prod = feature_table_path(pipeline_settings, "product_features")
    pairs = duckdb.sql(
        f"""
        select c.customer_id, p.product_id, c.event_timestamp + interval 3 hour as ts
        from (select * from read_parquet('{cust}') using sample 300 rows (reservoir, 1)) as c
        positional join (select * from read_parquet('{prod}') using sample 300 rows (reservoir, 2)) as p
        """
    ).df()
    entity_df = pd.DataFrame({
        "customer_id": pairs["customer_id"],
        "product_id": pairs["product_id"],
        # ISO strings, as a training-set query might hand them over: Feast parses them as UTC
        "event_timestamp": pairs["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
    })
    features = store.get_feature_service("personalization_v1") if _has_service(store, "personalization_v1") else [
        "customer_features:orders_lifetime", "customer_features:favourite_category",
        "product_features:price", "product_features:is_in_stock", "product_features:units_available",
    ]
    for full in (False, True):
        ours = _retrieve(store, entity_df, features, asof=True, full_feature_names=full, monkeypatch=monkeypatch)
        feasts = _retrieve(store, entity_df, features, asof=False, full_feature_names=full, monkeypatch=monkeypatch)
        _same(ours, feasts, ["customer_id", "product_id", "event_timestamp"])
        assert len(ours) == len(entity_df) and ours.iloc[:, 3:].notna().to_numpy().mean() > 0.5
    assert any("__" in c for c in ours.columns)


def _has_service(store, name: str) -> bool:
    return name in {s.name for s in store.list_feature_services()}


def test_requests_it_cannot_serve_the_same_way_go_to_feast(pipeline_settings):
    store = get_feature_store(pipeline_settings)
    view = store.get_feature_view("customer_features")
    refs = ["customer_features:orders_lifetime"]
    # an entity query given as SQL, or a source with a field mapping, is Feast's
    assert offline_store.asof_historical_features(store.config, [view], refs, "select 1", False) is None
    mapped = view.__copy__()
    mapped.batch_source = view.batch_source.__class__(
        name="mapped", path=view.batch_source.path, timestamp_field="event_timestamp",
        field_mapping={"orders_lifetime": "orders_lifetime"})
    assert offline_store.asof_historical_features(store.config, [mapped], refs, pd.DataFrame(
        {"customer_id": ["x"], "event_timestamp": [pd.Timestamp("2026-01-01", tz="UTC")]}), False) is None
    # a feature of a view it was not given (an on-demand view) is Feast's too
    assert offline_store.asof_historical_features(store.config, [view], ["other_view:f"], pd.DataFrame(
        {"customer_id": ["x"], "event_timestamp": [pd.Timestamp("2026-01-01", tz="UTC")]}), False) is None


@pytest.mark.parametrize("tz", [None, "UTC", "Europe/Berlin"])
def test_entity_timestamps_in_any_zone_are_compared_as_instants(pipeline_settings, monkeypatch, tz):
    store = get_feature_store(pipeline_settings)
    path = feature_table_path(pipeline_settings, "customer_features")
    rows = duckdb.sql(f"select customer_id, event_timestamp from read_parquet('{path}') using sample 200 rows (reservoir, 3)").df()
    ts = pd.to_datetime(rows["event_timestamp"]) + pd.Timedelta(minutes=30)
    if tz is not None:
        ts = ts.dt.tz_localize("UTC").dt.tz_convert(tz)
    entity_df = pd.DataFrame({"customer_id": rows["customer_id"], "event_timestamp": ts})
    features = ["customer_features:orders_lifetime", "customer_features:revenue_lifetime"]
    ours = _retrieve(store, entity_df, features, asof=True, monkeypatch=monkeypatch)
    feasts = _retrieve(store, entity_df, features, asof=False, monkeypatch=monkeypatch)
    _same(ours, feasts, ["customer_id", "event_timestamp"])
    assert ours["orders_lifetime"].notna().all()


def test_an_asof_training_set_persists_as_parquet(pipeline_settings, tmp_path):
    from feast.errors import SavedDatasetLocationAlreadyExists
    from feast.infra.offline_stores.file_source import SavedDatasetFileStorage

    store = get_feature_store(pipeline_settings)
    path = feature_table_path(pipeline_settings, "customer_features")
    entity_df = duckdb.sql(
        f"select customer_id, event_timestamp + interval 1 hour as event_timestamp from read_parquet('{path}') limit 50"
    ).df()
    entity_df["event_timestamp"] = pd.to_datetime(entity_df["event_timestamp"]).dt.tz_localize("UTC")
    job = store.get_historical_features(entity_df=entity_df, features=["customer_features:orders_lifetime"])
    assert isinstance(job, offline_store.AsofRetrievalJob)
    target = tmp_path / "training.parquet"
    job.persist(SavedDatasetFileStorage(path=str(target)))
    pd.testing.assert_frame_equal(pd.read_parquet(target), job.to_df())
    with pytest.raises(SavedDatasetLocationAlreadyExists):
        job.persist(SavedDatasetFileStorage(path=str(target)))
    job.persist(SavedDatasetFileStorage(path=str(target)), allow_overwrite=True)
