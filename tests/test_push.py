"""Pushed cart changes: the shop's tracking layer pushes a cart change to the cart_features view
(push source cart_features_push) and the online store serves it at once, through the SDK and
through Feast's HTTP feature server, on SQLite and on Redis. The batch history of the same view
comes from dbt's cart_features table."""

from __future__ import annotations

import http.client
import uuid
from datetime import datetime, timezone

import pandas as pd
import pytest

from dagster_project.feast_ext.feature_tables import feature_table_path
from dagster_project.feast_ext.publish import materialize_view
from dagster_project.feast_ext.repo import apply_feature_repo, get_feature_store

from conftest import duck, make_settings, use_settings_env

CART_REFS = [f"cart_features:{f}" for f in ("cart_id", "cart_value", "cart_items", "cart_checkout_step", "cart_ordered")]


def _a_customer_with_a_cart(settings) -> tuple[str, str]:
    return duck(
        f"select customer_id, arg_max(cart_id, event_timestamp) from read_parquet('{feature_table_path(settings, 'cart_features')}') "
        "group by customer_id order by count(*) desc, customer_id limit 1"
    ).fetchall()[0]


def _change(customer_id: str, value: float) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": [customer_id],
        "event_timestamp": [pd.Timestamp(datetime.now(timezone.utc))],
        "cart_id": [f"ct_pushed_{uuid.uuid4().hex[:8]}"],
        "cart_value": [value],
        "cart_items": [3],
        "cart_checkout_step": [2],
        "cart_shipping_amount_seen": [4.99],
        "cart_ordered": [False],
        "cart_device": ["mobile"],
    })


@pytest.fixture
def cart_store_settings(pipeline_settings, tmp_path, monkeypatch):
    """A Feast folder of its own (the session's online store stays untouched), with the batch
    values of cart_features materialized."""
    settings = make_settings(
        pipeline_settings.data_dir, feast_dir=tmp_path / "feast", feast_project=f"push_{uuid.uuid4().hex[:8]}",
        features_dir=pipeline_settings.features_dir, warehouse_path=pipeline_settings.warehouse_path,
        published_warehouse_path=pipeline_settings.published_warehouse,
    )
    use_settings_env(monkeypatch, settings)
    apply_feature_repo(settings)
    materialize_view(settings, "cart_features")
    return settings


def test_cart_features_are_materialized_from_the_batch_table(cart_store_settings):
    customer, last_cart = _a_customer_with_a_cart(cart_store_settings)
    store = get_feature_store(cart_store_settings)
    online = store.get_online_features(features=CART_REFS, entity_rows=[{"customer_id": customer}]).to_dict()
    assert online["cart_id"] == [last_cart]


def test_a_pushed_cart_change_is_served_at_once_by_the_sdk(cart_store_settings):
    from feast.data_source import PushMode

    customer, last_cart = _a_customer_with_a_cart(cart_store_settings)
    store = get_feature_store(cart_store_settings)
    change = _change(customer, 1234.5)
    store.push("cart_features_push", change, to=PushMode.ONLINE)
    online = store.get_online_features(features=CART_REFS, entity_rows=[{"customer_id": customer}]).to_dict()
    assert online["cart_id"] == [change["cart_id"][0]] and online["cart_id"] != [last_cart]
    assert online["cart_value"] == [1234.5] and online["cart_checkout_step"] == [2]


def test_a_cart_change_pushed_over_http_is_served_over_http(cart_store_settings, tmp_path):
    from bench.online import free_port, push_and_wait, start_feast_server, stop, wait_ready

    customer, _ = _a_customer_with_a_cart(cart_store_settings)
    port = free_port()
    log = open(tmp_path / "feast_serve.log", "w")
    server = start_feast_server(cart_store_settings, port, log)
    try:
        wait_ready(port, server)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for value in (321.25, 322.5):  # a second change replaces the first
            seconds, _ = push_and_wait(conn, customer, value)
            assert seconds < 10
        conn.close()
    finally:
        stop(server)
        log.close()
    store = get_feature_store(cart_store_settings)
    online = store.get_online_features(features=CART_REFS, entity_rows=[{"customer_id": customer}]).to_dict()
    assert online["cart_value"] == [322.5]


@pytest.mark.redis
def test_a_pushed_cart_change_is_served_from_redis(pipeline_settings, redis_url, tmp_path, monkeypatch):
    import redis
    from feast.data_source import PushMode

    project = f"push_{uuid.uuid4().hex[:8]}"
    settings = make_settings(
        pipeline_settings.data_dir, feast_dir=tmp_path / "feast", online_store="redis", redis_url=redis_url,
        feast_project=project, features_dir=pipeline_settings.features_dir,
        warehouse_path=pipeline_settings.warehouse_path, published_warehouse_path=pipeline_settings.published_warehouse,
    )
    use_settings_env(monkeypatch, settings)
    try:
        apply_feature_repo(settings)
        customer, _ = _a_customer_with_a_cart(settings)
        store = get_feature_store(settings)
        change = _change(customer, 777.75)
        store.push("cart_features_push", change, to=PushMode.ONLINE)
        online = store.get_online_features(features=CART_REFS, entity_rows=[{"customer_id": customer}]).to_dict()
        assert online["cart_value"] == [777.75] and online["cart_id"] == [change["cart_id"][0]]
        assert redis.Redis.from_url(redis_url).dbsize() > 0
    finally:
        get_feature_store(settings).teardown()  # removes the project's keys


def test_a_publish_keeps_values_pushed_after_the_batch_table(cart_store_settings):
    """The nightly publish of cart_features must not roll back a cart pushed since the feature
    table was built: latest event time wins, between pushes and publishes alike."""
    from feast.data_source import PushMode

    customer, last_cart = _a_customer_with_a_cart(cart_store_settings)
    store = get_feature_store(cart_store_settings)
    pushed = _change(customer, 2468.0)
    store.push("cart_features_push", pushed, to=PushMode.ONLINE)
    only_pushed = _change("cus_00000000pushonly", 13.5)  # a customer the batch table does not know yet
    store.push("cart_features_push", only_pushed, to=PushMode.ONLINE)
    materialize_view(cart_store_settings, "cart_features")
    online = store.get_online_features(
        features=CART_REFS, entity_rows=[{"customer_id": customer}, {"customer_id": "cus_00000000pushonly"}]
    ).to_dict()
    assert online["cart_value"] == [2468.0, 13.5]
    assert online["cart_id"] == [pushed["cart_id"][0], only_pushed["cart_id"][0]]
    # while the other customers still got their batch values
    other = duck(
        f"select customer_id, arg_max(cart_id, event_timestamp) from read_parquet('{feature_table_path(cart_store_settings, 'cart_features')}') "
        "where customer_id <> ? group by customer_id order by customer_id limit 1", params=[customer]
    ).fetchall()[0]
    assert store.get_online_features(features=CART_REFS, entity_rows=[{"customer_id": other[0]}]).to_dict()["cart_id"] == [other[1]]
