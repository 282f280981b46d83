"""Stock and order status pushes on a small served world (no pipeline): a WMS stock change and an
OMS status change pushed over the project's HTTP server and through Feast's SDK, on SQLite and
Redis, are visible online at once and land in the view's offline table; after the next batch run
(the feature table rebuilt from the source's delivery of the same change, then published) online
and offline agree. Claims on stores in stock per region read the per-location stock."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.pushes import order_change, push_and_wait, stock_change
from test_serving_support import FRESH, OLD, build_served_world, post, running_server
from conftest import duck

STOCK_STRINGS = {"product_id", "location_id", "location_type", "region", "postal_code", "next_inbound_on", "stock_counted_at"}
STOCK_INTS = {"units_on_hand", "units_reserved", "units_available", "next_inbound_units"}
STOCK_BOOLS = {"is_click_and_collect", "is_in_stock", "is_low_stock"}
LOCATIONS = {"S1": ("store", "CA", True), "S2": ("store", "CA", True), "S3": ("store", "NY", False), "W1": ("warehouse", "NV", False)}


def _typed(columns: dict, strings: set, ints: set, bools: set) -> pa.Table:
    def kind(name):
        if name == "event_timestamp":
            return pa.timestamp("us", tz="UTC")
        return pa.string() if name in strings else pa.int64() if name in ints else pa.bool_() if name in bools else pa.float64()
    return pa.table(columns).cast(pa.schema([(name, kind(name)) for name in columns]))


def stock_by_location_table(rows: list[tuple]) -> pa.Table:
    """rows: (product_id, location_id, event_timestamp, units_available)."""
    columns = {k: [] for k in ("product_id", "location_id", "event_timestamp", "location_type", "region", "postal_code",
                               "is_click_and_collect", "units_on_hand", "units_reserved", "units_available", "is_in_stock",
                               "is_low_stock", "units_sold_per_day", "days_of_cover", "next_inbound_on",
                               "next_inbound_units", "stock_counted_at")}
    for product_id, location_id, at, available in rows:
        kind, region, pickup = LOCATIONS[location_id]
        values = dict(product_id=product_id, location_id=location_id, event_timestamp=at, location_type=kind,
                      region=region, postal_code="94000", is_click_and_collect=pickup, units_on_hand=available + 1,
                      units_reserved=1, units_available=available, is_in_stock=available > 0,
                      is_low_stock=0 < available <= 3, units_sold_per_day=0.5, days_of_cover=available / 0.5,
                      next_inbound_on=None, next_inbound_units=None,
                      stock_counted_at=(at - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        for k, v in values.items():
            columns[k].append(v)
    return _typed(columns, STOCK_STRINGS, STOCK_INTS, STOCK_BOOLS)


def stock_by_product_table() -> pa.Table:
    columns = {"product_id": ["SKU-1", "SKU-OLD"], "event_timestamp": [FRESH, OLD],
               "total_units_on_hand": [50, 9], "total_units_reserved": [3, 0], "total_units_available": [47, 9],
               "locations_in_stock": [4, 3], "stores_in_stock": [3, 3], "pickup_stores_in_stock": [2, 0],
               "stores_in_stock_by_region": ["CA:2,NY:1", "CA:3"], "is_in_stock_anywhere": [True, True],
               "is_low_stock_overall": [False, False], "total_units_sold_per_day": [2.0, 0.0],
               "total_days_of_cover": [23.5, None], "soonest_inbound_on": [None, None], "soonest_inbound_units": [None, None],
               "oldest_count_at": ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"]}
    return _typed(columns, {"product_id", "stores_in_stock_by_region", "soonest_inbound_on", "oldest_count_at"},
                  {"total_units_on_hand", "total_units_reserved", "total_units_available", "locations_in_stock",
                   "stores_in_stock", "pickup_stores_in_stock", "soonest_inbound_units"},
                  {"is_in_stock_anywhere", "is_low_stock_overall"})


def order_status_table(rows: list[tuple]) -> pa.Table:
    """rows: (order_id, event_timestamp, status)."""
    columns = {"order_id": [r[0] for r in rows], "event_timestamp": [r[1] for r in rows], "customer_id": ["cus_a"] * len(rows),
               "order_status": [r[2] for r in rows], "order_status_at": [r[1].strftime("%Y-%m-%dT%H:%M:%SZ") for r in rows],
               "delivered_at": [None] * len(rows), "shipping_region": ["CA"] * len(rows), "item_count": [2] * len(rows),
               "order_total": [10.0] * len(rows), "currency": ["EUR"] * len(rows)}
    return _typed(columns, {"order_id", "customer_id", "order_status", "order_status_at", "delivered_at",
                            "shipping_region", "currency"}, {"item_count"}, set())


def customer_latest_orders_table() -> pa.Table:
    columns = {"customer_id": ["cus_a"], "event_timestamp": [FRESH], "latest_order_ids": ["ORD-1"],
               "latest_order_statuses": ["placed"], "open_orders": [1], "last_ordered_at": ["2026-01-01T00:00:00Z"]}
    return _typed(columns, {"customer_id", "latest_order_ids", "latest_order_statuses", "last_ordered_at"}, {"open_orders"}, set())


BATCH_STOCK = [("SKU-1", "S1", FRESH, 5), ("SKU-1", "S2", FRESH, 2), ("SKU-1", "S3", FRESH, 1), ("SKU-1", "W1", FRESH, 40)]
BATCH_ORDERS = [("ORD-1", FRESH, "placed"), ("ORD-2", FRESH, "shipped")]


def availability_tables() -> dict[str, pa.Table]:
    return {"stock_by_location": stock_by_location_table(BATCH_STOCK), "stock_by_product": stock_by_product_table(),
            "order_status": order_status_table(BATCH_ORDERS), "customer_latest_orders": customer_latest_orders_table()}


def _midnight_after(moment: datetime) -> datetime:
    return datetime.combine(moment.date() + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)


def _next_batch_run(settings, view: str, table: pa.Table) -> None:
    """What the next batch run does to a view: dbt rewrites its feature table from the sources'
    deliveries, then the view is published."""
    from dagster_project.feast_ext.publish import materialize_view

    pq.write_table(table, settings.features_dir / f"{view}.parquet")
    materialize_view(settings, view)


def _consistency(settings, view: str):
    from dagster_project.serving.consistency import check_online_consistency

    return check_online_consistency(settings, [view], sample_size=100)[view]


def _wait_past(moment: datetime) -> None:
    """Sleep until the clock is a whole second past `moment`, so that the next change's event time
    is later than the previous one's (two changes stamped the same second have no order)."""
    while datetime.now(timezone.utc) < moment + timedelta(seconds=1):
        time.sleep(0.05)


@pytest.fixture
def served(tmp_path):
    return build_served_world(tmp_path / "data", tables=availability_tables())


def test_a_stock_change_pushed_over_http_is_visible_at_once_and_lands_offline(served):
    import http.client

    with running_server(served) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        # a server's first offline write imports Feast's offline writer (ibis): seconds, once
        first = stock_change("SKU-1", "S1", 6, {"region": "CA", "postal_code": "94000"})
        push_and_wait(conn, "stock_by_location_push", first,
                      "stock_by_location:units_available", {"product_id": ["SKU-1"], "location_id": ["S1"]}, 6)
        _wait_past(datetime.fromisoformat(first["event_timestamp"][0]))  # event times are whole seconds
        df = stock_change("SKU-1", "S1", 7, {"location_type": "store", "region": "CA", "postal_code": "94000"})
        seconds = push_and_wait(conn, "stock_by_location_push", df, "stock_by_location:units_available",
                                {"product_id": ["SKU-1"], "location_id": ["S1"]}, 7)
        conn.close()
        status, answer = post(port, "/get-online-features", {
            "feature_service": "availability_v1", "entities": {"product_id": ["SKU-1"], "location_id": ["S2"]}})
    assert seconds < 1.0
    assert status == 200 and answer["results"][answer["metadata"]["feature_names"].index("units_available")]["values"] == [2]
    # landed for the batch path: the pushed row is in the view's offline table ...
    offline = duck(
        f"select units_available, region from read_parquet('{served.features_dir / 'stock_by_location.parquet'}') "
        "where product_id = 'SKU-1' and location_id = 'S1' order by event_timestamp").fetchall()
    assert offline == [(5, "CA"), (6, "CA"), (7, "CA")]
    # ... so online and offline agree before the next batch run too
    report = _consistency(served, "stock_by_location")
    assert report.passed and report.pushed_newer == 0 and report.sampled == 4

    # the next batch run: the WMS's delivery holds the same count, stamped at the close of its day
    pushed_at = datetime.fromisoformat(df["event_timestamp"][0])
    _next_batch_run(served, "stock_by_location",
                    stock_by_location_table(BATCH_STOCK + [("SKU-1", "S1", _midnight_after(pushed_at), 7)]))
    report = _consistency(served, "stock_by_location")
    assert report.passed and report.pushed_newer == 0 and report.compared_values > 0


def test_a_push_to_the_online_store_only_is_what_leaves_online_and_offline_apart(served):
    """The control for the choice of `online_and_offline`: pushed online only, the offline table
    does not know the change and the consistency check counts it as pushed_newer."""
    with running_server(served) as port:
        status, _ = post(port, "/push", {"push_source_name": "stock_by_location_push", "to": "online",
                                         "df": stock_change("SKU-1", "S2", 9, {"region": "CA"})})
    assert status == 200
    assert _consistency(served, "stock_by_location").pushed_newer == 1


def test_an_order_status_change_pushed_over_http_reaches_online_and_offline(served):
    import http.client

    with running_server(served) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        push_and_wait(conn, "order_status_push", order_change("ORD-9", "placed", 1), "order_status:order_status",
                      {"order_id": ["ORD-9"]}, "placed")  # the first offline write of the server (see above)
        df = order_change("ORD-1", "shipped", 2, customer_id="cus_a")
        seconds = push_and_wait(conn, "order_status_push", df, "order_status:order_status", {"order_id": ["ORD-1"]}, "shipped")
        conn.close()
        status, answer = post(port, "/get-online-features", {"feature_service": "support_orders_v1",
                                                             "entities": {"order_id": ["ORD-1", "ORD-2", "ORD-NONE"]}})
    assert seconds < 1.0 and status == 200
    column = answer["results"][answer["metadata"]["feature_names"].index("order_status")]
    assert column["values"] == ["shipped", "shipped", None]
    assert column["statuses"] == ["PRESENT", "PRESENT", "NOT_FOUND"]
    assert _consistency(served, "order_status").passed
    pushed_at = datetime.fromisoformat(df["event_timestamp"][0])
    _next_batch_run(served, "order_status", order_status_table(BATCH_ORDERS + [("ORD-1", _midnight_after(pushed_at), "shipped")]))
    report = _consistency(served, "order_status")
    assert report.passed and report.pushed_newer == 0 and report.sampled == 2  # ORD-9 only pushed: gone with the rebuild


@pytest.mark.parametrize("online_store", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def test_pushes_through_the_sdk_are_served_and_agree_after_the_next_batch_run(online_store, tmp_path, request):
    from feast.data_source import PushMode

    from dagster_project.feast_ext.repo import get_feature_store

    redis_url = request.getfixturevalue("redis_url") if online_store == "redis" else None
    settings = build_served_world(tmp_path / "data", online_store, redis_url, feast_project=f"avail_{uuid.uuid4().hex[:8]}",
                                  tables=availability_tables())
    store = get_feature_store(settings)
    try:
        stock = pd.DataFrame(stock_change("SKU-1", "S3", 0, {"region": "NY"}))
        stock["event_timestamp"] = pd.to_datetime(stock["event_timestamp"], utc=True)
        store.push("stock_by_location_push", stock, to=PushMode.ONLINE_AND_OFFLINE)
        order = pd.DataFrame(order_change("ORD-2", "delivered", 2, customer_id="cus_a"))
        order["event_timestamp"] = pd.to_datetime(order["event_timestamp"], utc=True)
        store.push("order_status_push", order, to=PushMode.ONLINE_AND_OFFLINE)

        online = store.get_online_features(
            features=["stock_by_location:units_available", "stock_by_location:is_in_stock"],
            entity_rows=[{"product_id": "SKU-1", "location_id": "S3"}]).to_dict()
        assert online["units_available"] == [0] and online["is_in_stock"] == [False]
        statuses = store.get_online_features(features=store.get_feature_service("support_orders_v1"),
                                             entity_rows=[{"order_id": "ORD-2"}]).to_dict()
        assert statuses["order_status"] == ["delivered"] and statuses["delivered_at"] == [order["delivered_at"][0]]
        assert _consistency(settings, "stock_by_location").passed and _consistency(settings, "order_status").passed

        moment = _midnight_after(stock["event_timestamp"][0].to_pydatetime())
        _next_batch_run(settings, "stock_by_location", stock_by_location_table(BATCH_STOCK + [("SKU-1", "S3", moment, 0)]))
        _next_batch_run(settings, "order_status", order_status_table(BATCH_ORDERS + [("ORD-2", moment, "delivered")]))
        for view in ("stock_by_location", "order_status"):
            report = _consistency(settings, view)
            assert report.passed and report.pushed_newer == 0, (view, report)
        assert store.get_online_features(features=["order_status:order_status"],
                                         entity_rows=[{"order_id": "ORD-2"}]).to_dict()["order_status"] == ["delivered"]
    finally:
        if online_store == "redis":
            store.teardown()


def test_pickup_claims_per_region_read_the_per_location_stock(served):
    from dagster_project.serving.context import verify_claims

    claims = [
        {"product_id": "SKU-1", "claim": "pickup_stores_in_region_at_least", "region": "CA", "value": 2},
        {"product_id": "SKU-1", "claim": "pickup_stores_in_region_at_least", "region": "CA", "value": 3},
        {"product_id": "SKU-1", "claim": "pickup_stores_in_region_at_least", "region": "NY", "value": 1},
        {"product_id": "SKU-1", "claim": "pickup_stores_in_region_at_least", "region": "TX", "value": 1},
        # stored, but older than the view's TTL: not a fact to write "pick up today" on
        {"product_id": "SKU-OLD", "claim": "pickup_stores_in_region_at_least", "region": "CA", "value": 1},
        {"product_id": "SKU-1", "claim": "in_stock"},
    ]
    verdicts = verify_claims(served, claims)
    assert [v["holds"] for v in verdicts] == [True, False, True, False, False, True]
    assert verdicts[0]["feature"] == "stores_in_stock_by_region" and verdicts[0]["current_value"] == "CA:2,NY:1"
    assert verdicts[4]["status"] == "OUTSIDE_MAX_AGE"
    with running_server(served) as port:
        status, answer = post(port, "/claims", {"claims": claims[:1]})
        missing_region, problem = post(port, "/claims", {"claims": [{"product_id": "SKU-1", "value": 1,
                                                                     "claim": "pickup_stores_in_region_at_least"}]})
    assert status == 200 and answer["claims"][0]["holds"] is True
    assert missing_region == 422 and "region" in problem["detail"]
