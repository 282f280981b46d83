"""Shared by the serving tests (no tests of its own): a small served world without the pipeline
(feature tables written as Parquet with known values and ages, the real feature repo applied,
the views published through the project's atomic stores), and the project's server started as a
real uvicorn server on a free loopback port."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import make_settings

NOW = datetime.now(timezone.utc).replace(microsecond=0)
FRESH = NOW - timedelta(days=1)
# older than product_features' TTL (30 days), within customer_features' (365 days)
OLD = NOW - timedelta(days=40)
CUSTOMERS = ["cus_a", "cus_b", "cus_c"]
PRODUCTS = ["SKU-1", "SKU-2", "SKU-OLD"]

CUSTOMER_INT = ["orders_lifetime", "orders_90d", "units_returned_lifetime", "product_views_30d", "add_to_carts_30d",
                "searches_30d", "support_tickets_90d", "email_opens_90d", "email_clicks_90d", "days_since_first_seen"]
CUSTOMER_FLOAT = ["revenue_lifetime", "avg_order_value", "revenue_90d", "return_rate"]
PRODUCT_INT = ["product_views_7d", "add_to_carts_7d", "units_sold_30d", "review_count", "units_on_hand",
               "units_available", "locations_in_stock", "stores_in_stock"]
PRODUCT_FLOAT = ["price", "revenue_30d", "view_to_order_rate_30d", "return_rate_90d", "avg_rating"]


def customer_table() -> pa.Table:
    columns = {"customer_id": CUSTOMERS, "event_timestamp": [FRESH, OLD, FRESH]}
    for i, name in enumerate(CUSTOMER_INT):
        columns[name] = [i + 1, i + 2, None if name == "orders_90d" else i + 3]
    for i, name in enumerate(CUSTOMER_FLOAT):
        columns[name] = [i + 0.5, i + 1.5, i + 2.5]
    columns["favourite_category"] = ["audio", "tv", None]
    columns["preferred_device"] = ["mobile", "desktop", "tablet"]
    return pa.table(columns).cast(_schema(columns, {"customer_id", "favourite_category", "preferred_device"}, set(CUSTOMER_INT)))


def product_table() -> pa.Table:
    columns = {"product_id": PRODUCTS, "event_timestamp": [FRESH, FRESH, OLD]}
    for i, name in enumerate(PRODUCT_INT):
        columns[name] = [i + 10, i + 20, i + 30]
    for i, name in enumerate(PRODUCT_FLOAT):
        columns[name] = [i + 10.25, i + 20.25, i + 30.25]
    columns.update(category_level_1=["audio", "tv", "audio"], brand=["Acme", "Bolt", "Acme"],
                   is_active=[True, True, False], is_in_stock=[True, False, True],
                   stock_counted_on=["2026-01-01", "2026-01-02", "2026-01-03"])
    return pa.table(columns).cast(_schema(columns, {"product_id", "category_level_1", "brand", "stock_counted_on"},
                                          set(PRODUCT_INT), {"is_active", "is_in_stock"}))


def cart_table() -> pa.Table:
    columns = {"customer_id": ["cus_a"], "event_timestamp": [FRESH], "cart_id": ["cart_1"], "cart_value": [99.5],
               "cart_items": [2], "cart_checkout_step": [1], "cart_shipping_amount_seen": [None],
               "cart_ordered": [False], "cart_device": ["mobile"]}
    return pa.table(columns).cast(_schema(columns, {"customer_id", "cart_id", "cart_device"},
                                          {"cart_items", "cart_checkout_step"}, {"cart_ordered"}))


def _schema(columns: dict, strings: set, ints: set, bools: set = frozenset()) -> pa.Schema:
    def kind(name):
        if name == "event_timestamp":
            return pa.timestamp("us", tz="UTC")
        if name in strings:
            return pa.string()
        if name in ints:
            return pa.int64()
        if name in bools:
            return pa.bool_()
        return pa.float64()
    return pa.schema([(name, kind(name)) for name in columns])


def build_served_world(data_dir: Path, online_store: str = "sqlite", redis_url: str | None = None,
                       feast_project: str | None = None, tables: dict[str, pa.Table] | None = None):
    """Settings of a data dir whose three feature views (and `tables`: view -> its feature table)
    are published online (no pipeline run)."""
    from dagster_project.feast_ext.publish import materialize_view
    from dagster_project.feast_ext.repo import apply_feature_repo

    # by default an own key space in a shared Redis
    overrides = {"feast_project": feast_project or f"rcl_serving_{uuid.uuid4().hex[:10]}"}
    if online_store == "redis":
        overrides.update(online_store="redis", redis_url=redis_url)
    settings = make_settings(data_dir, **overrides)
    settings.features_dir.mkdir(parents=True, exist_ok=True)
    tables = {"customer_features": customer_table(), "product_features": product_table(),
              "cart_features": cart_table(), **(tables or {})}
    for name, table in tables.items():
        pq.write_table(table, settings.features_dir / f"{name}.parquet")
    apply_feature_repo(settings)
    for view in tables:
        materialize_view(settings, view)
    return settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(settings, **app_options):
    """The project's app under a real uvicorn server in a thread, on a free loopback port."""
    import uvicorn

    from dagster_project.serving.app import create_app

    port = free_port()
    config = uvicorn.Config(create_app(settings, **app_options), host="127.0.0.1", port=port,
                            log_level="warning", access_log=False, loop="asyncio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the serving app did not start")
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def post(port: int, path: str, body, content_type: str = "application/json", timeout: float = 10.0,
         headers: dict | None = None):
    """(status, parsed JSON or raw text) of one POST; `body` is JSON-encoded unless bytes."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {**({"Content-Type": content_type} if content_type else {}), **(headers or {})}
        conn.request("POST", path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        try:
            return response.status, json.loads(payload)
        except ValueError:
            return response.status, payload.decode(errors="replace")
    finally:
        conn.close()


def column(response: dict, name: str) -> dict:
    """One column of a /get-online-features response by its feature name."""
    return response["results"][response["metadata"]["feature_names"].index(name)]
