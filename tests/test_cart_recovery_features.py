"""cart_recovery_features and the request-time view of cart_recovery_v2: the customer's history
counts only orders placed before the cart was created (a training set at an earlier cart does not
see the later one), and minutes since the last cart activity are computed at request time through
the Feast SDK, offline and from a real Redis online store."""

from __future__ import annotations

import uuid
from datetime import timedelta

import duckdb
import pandas as pd
import pytest

from dagster_project.feast_ext.feature_tables import feature_table_path
from dagster_project.feast_ext.offline_store import training_set

from conftest import make_settings

pytestmark = pytest.mark.slow


def _carts(settings) -> pd.DataFrame:
    path = feature_table_path(settings, "cart_recovery_features")
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return conn.execute(f"select * from read_parquet('{path}') order by customer_id, event_timestamp").df()


def test_history_counts_only_orders_before_the_cart(pipeline_settings):
    settings = pipeline_settings
    carts = _carts(settings)
    assert len(carts) > 10
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        expected = conn.execute(
            """
            select carts.cart_id, count(orders.order_id) as orders_before,
                   median(orders.total_amount) as typical_value
            from marts.carts
            left join marts.orders
              on orders.customer_id = carts.customer_id and not orders.is_cancelled
             and orders.ordered_at < carts.created_at
            where carts.customer_id is not null
            group by all
            """
        ).df().set_index("cart_id")
    joined = carts.join(expected, on="cart_id")
    assert (joined["customer_orders_before_cart"] == joined["orders_before"]).all()
    assert (joined["is_first_time_buyer"] == (joined["orders_before"] == 0)).all()
    with_history = joined[joined["orders_before"] > 0]
    assert len(with_history) > 0
    assert with_history["customer_typical_order_value"].to_numpy() == pytest.approx(
        with_history["typical_value"].astype(float).to_numpy())
    # a cart the customer made after ordering sees the order; one made before it does not
    assert joined["is_first_time_buyer"].any() and not joined["is_first_time_buyer"].all()


def test_a_training_set_before_a_later_cart_does_not_see_it(pipeline_settings):
    from feature_repo.cart_recovery import cart_recovery_features

    settings = pipeline_settings
    carts = _carts(settings)
    # consecutive carts of one customer whose history differs (the later one knows more orders),
    # the earlier still within the view's TTL when the later one appears; one pair per customer
    carts["next_at"] = carts.groupby("customer_id")["event_timestamp"].shift(-1)
    carts["next_orders"] = carts.groupby("customer_id")["customer_orders_before_cart"].shift(-1)
    pairs = carts[carts["next_at"].notna() & (carts["next_orders"] > carts["customer_orders_before_cart"])
                  & (carts["next_at"] - carts["event_timestamp"] < cart_recovery_features.ttl)]
    pairs = pairs.drop_duplicates("customer_id").head(10)
    assert len(pairs) >= 2, "the sample has too few customers with a cart before and after an order"
    refs = ["cart_recovery_features:customer_orders_before_cart"]

    def read_at(offset: timedelta) -> list:
        rows = pd.DataFrame({"customer_id": pairs["customer_id"], "event_timestamp": pairs["next_at"] + offset})
        result = training_set(settings, rows, refs).to_df()
        result["event_timestamp"] = pd.to_datetime(result["event_timestamp"]).dt.tz_localize(None)
        return list(rows.merge(result, on=["customer_id", "event_timestamp"], how="left")["customer_orders_before_cart"])

    assert read_at(-timedelta(seconds=1)) == list(pairs["customer_orders_before_cart"])
    assert read_at(timedelta(0)) == list(pairs["next_orders"])


def _minutes_expected(last_activity_epoch, request_epoch) -> float:
    return (request_epoch - last_activity_epoch) / 60.0


def test_minutes_since_cart_activity_offline_through_the_sdk(pipeline_settings):
    """A training set with the request time column: the on-demand view computes minutes since
    the cart's last activity as of each row (Feast's join runs the Python transformation)."""
    settings = pipeline_settings
    carts = _carts(settings).drop_duplicates("customer_id", keep="last").head(5)
    label_times = carts["event_timestamp"] + timedelta(minutes=90)
    entity_df = pd.DataFrame({
        "customer_id": carts["customer_id"].to_list(),
        "event_timestamp": label_times.to_list(),
        "request_epoch_seconds": [int(t.timestamp()) for t in label_times],
    })
    result = training_set(settings, entity_df, ["cart_recovery_features:cart_last_activity_epoch_seconds",
                                                "cart_recovery_request_time:minutes_since_cart_activity"]).to_df()
    result = result.set_index("customer_id").loc[carts["customer_id"]]
    expected = [_minutes_expected(last, now) for last, now in
                zip(carts["cart_last_activity_epoch_seconds"], entity_df["request_epoch_seconds"])]
    assert list(result["minutes_since_cart_activity"]) == pytest.approx(expected)
    assert all(minutes >= 90 for minutes in expected)


@pytest.mark.redis
def test_cart_recovery_v2_served_online_from_redis_with_request_time(pipeline_settings, redis_url, tmp_path):
    from dagster_project.feast_ext.publish import materialize_view
    from dagster_project.feast_ext.repo import apply_feature_repo, get_feature_store

    settings = make_settings(pipeline_settings.data_dir, feast_dir=tmp_path / "feast", online_store="redis",
                             redis_url=redis_url, feast_project=f"rcl_test_{uuid.uuid4().hex[:10]}")
    apply_feature_repo(settings)
    for view in ("cart_features", "cart_recovery_features", "customer_features"):
        materialize_view(settings, view)
    store = get_feature_store(settings)
    try:
        latest = _carts(settings).drop_duplicates("customer_id", keep="last").head(5)
        now = int(latest["cart_last_activity_epoch_seconds"].max()) + 3600
        service = store.get_feature_service("cart_recovery_v2")
        online = store.get_online_features(
            features=service,
            entity_rows=[{"customer_id": c, "request_epoch_seconds": now} for c in latest["customer_id"]],
        ).to_dict()
        assert online["cart_last_activity_epoch_seconds"] == list(latest["cart_last_activity_epoch_seconds"])
        assert online["minutes_since_cart_activity"] == pytest.approx(
            [_minutes_expected(last, now) for last in latest["cart_last_activity_epoch_seconds"]])
        assert online["cart_highest_item_price"] == pytest.approx(list(latest["cart_highest_item_price"]), nan_ok=True)
        for name in ("cart_value", "cart_items", "is_first_time_buyer", "customer_typical_order_value", "orders_lifetime"):
            assert name in online, name
        assert online["cart_id"] == list(latest["cart_id"])
    finally:
        store.teardown()
