"""Push figures of the WMS's stock changes and the OMS's order status changes through the project's
server (`rcl serve`, Redis): each change POSTed to /push (`to: online_and_offline`, as the
producers send them, docs/availability.md) and /get-online-features polled until the same server
returns it; one change at a time, distinct values, client-side time from the POST to the first
read that shows it.

* stock_push_to_visible_p99_ms: push source stock_by_location_push (product x location).
* order_status_push_to_visible_p99_ms: push source order_status_push (order).
"""

from __future__ import annotations

import http.client
import json
import time
from datetime import datetime, timezone

from bench.common import percentile


def _now() -> datetime:
    # whole seconds: the online store keeps event times to the second, so a finer pushed time
    # would differ from the offline copy of the same row (docs/availability.md)
    return datetime.now(timezone.utc).replace(microsecond=0)

LOCATION_COLUMNS = {"location_type": "store", "region": None, "postal_code": None, "is_click_and_collect": True}


def stock_change(product_id: str, location_id: str, units_available: int, location: dict | None = None) -> dict:
    """The df of one stock change as the WMS pushes it (every column of stock_by_location)."""
    return {
        "product_id": [product_id], "location_id": [location_id],
        "event_timestamp": [_now().isoformat()],
        **{k: [v] for k, v in {**LOCATION_COLUMNS, **(location or {})}.items()},
        "units_on_hand": [units_available + 1], "units_reserved": [1], "units_available": [units_available],
        "is_in_stock": [units_available > 0], "is_low_stock": [0 < units_available <= 3],
        "units_sold_per_day": [None], "days_of_cover": [None], "next_inbound_on": [None], "next_inbound_units": [None],
        "stock_counted_at": [_now().strftime("%Y-%m-%dT%H:%M:%SZ")],
    }


def order_change(order_id: str, status: str, item_count: int, customer_id: str | None = None) -> dict:
    """The df of one order status change as the OMS pushes it (every column of order_status)."""
    now = _now()
    return {
        "order_id": [order_id], "event_timestamp": [now.isoformat()], "customer_id": [customer_id],
        "order_status": [status], "order_status_at": [now.strftime("%Y-%m-%dT%H:%M:%SZ")],
        "delivered_at": [now.strftime("%Y-%m-%dT%H:%M:%SZ") if status == "delivered" else None],
        "shipping_region": [None], "item_count": [item_count], "order_total": [10.0], "currency": ["EUR"],
    }


def _post(conn, path: str, body: dict) -> dict:
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    answer = json.loads(response.read())
    if response.status != 200:
        raise RuntimeError(f"{path} answered {response.status}: {answer}")
    return answer


def push_and_wait(conn, source: str, df: dict, feature_ref: str, entities: dict, expected,
                  to: str = "online_and_offline", timeout: float = 10.0) -> float:
    """POST /push `df` to `source`, then poll `feature_ref` for `entities` until it reads
    `expected`. Returns the seconds from the POST to the read that showed it."""
    started = time.perf_counter()
    _post(conn, "/push", {"push_source_name": source, "to": to, "df": df})
    feature = feature_ref.split(":")[1]
    while True:
        answer = _post(conn, "/get-online-features", {"features": [feature_ref], "entities": entities})
        seen = answer["results"][answer["metadata"]["feature_names"].index(feature)]["values"][0]
        if seen == expected:
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"pushed {feature_ref}={expected!r} not visible after {timeout}s (last {seen!r})")


def measure_pushes(port: int, stock_pairs: list[tuple[str, str]], orders: list[tuple[str, int]],
                   pushes: int = 200, to: str = "online_and_offline") -> dict:
    """p50/p99/max push-to-visible milliseconds of `pushes` stock changes and as many order changes."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    stock, order = [], []
    try:
        for i in range(pushes):
            product_id, location_id = stock_pairs[i % len(stock_pairs)]
            units = 1000 + i
            stock.append(1000 * push_and_wait(
                conn, "stock_by_location_push", stock_change(product_id, location_id, units),
                "stock_by_location:units_available", {"product_id": [product_id], "location_id": [location_id]}, units, to))
            order_id, items = orders[i % len(orders)]
            status = f"bench-{i}"  # a distinct value per push: a status the reader cannot have seen before
            order.append(1000 * push_and_wait(
                conn, "order_status_push", order_change(order_id, status, items),
                "order_status:order_status", {"order_id": [order_id]}, status, to))
    finally:
        conn.close()

    def figures(times):
        return {"pushes": len(times), "p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99), "max_ms": max(times)}

    return {"to": to, "stock": figures(stock), "order_status": figures(order)}
