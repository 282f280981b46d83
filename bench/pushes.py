"""Push figures of the WMS's stock changes and the OMS's order status changes through the project's
server (`rcl serve`, Redis): each change POSTed to /push (`to: online_and_offline`, as the
producers send them, docs/availability.md) and /get-online-features polled until the same server
returns it; one change at a time, distinct values, client-side time from the POST to the first
read (on a second connection, polling while the push is in flight) that shows it. The push's own
answer waits for the offline append as well (Feast writes online first): reported beside it.

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
                  to: str = "online_and_offline", timeout: float = 10.0, reader=None) -> float:
    """POST /push `df` to `source` and poll `feature_ref` for `entities` until it reads `expected`.
    Returns the seconds from the POST to the read that showed it. With a `reader` connection the
    polls run on it while the push is in flight (the push's offline append can still be running
    when the online value is already served); without, they start after the push answered."""
    started = time.perf_counter()
    feature = feature_ref.split(":")[1]

    def visible(on) -> bool:
        answer = _post(on, "/get-online-features", {"features": [feature_ref], "entities": entities})
        return answer["results"][answer["metadata"]["feature_names"].index(feature)]["values"][0] == expected

    if reader is None:
        _post(conn, "/push", {"push_source_name": source, "to": to, "df": df})
    else:
        import threading

        pushed: list = []
        thread = threading.Thread(target=lambda: pushed.append(_post(conn, "/push", {"push_source_name": source, "to": to, "df": df})))
        thread.start()
    on = conn if reader is None else reader
    while not visible(on):
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"pushed {feature_ref}={expected!r} not visible after {timeout}s")
    seconds = time.perf_counter() - started
    if reader is not None:
        thread.join(timeout)
        if not pushed:
            raise RuntimeError(f"the push to {source} did not answer")
    return seconds


def measure_pushes(port: int, stock_pairs: list[tuple[str, str]], orders: list[tuple[str, int]],
                   pushes: int = 200, to: str = "online_and_offline") -> dict:
    """p50/p99/max milliseconds of `pushes` stock changes and as many order changes: from the POST
    until a reader polling on its own connection sees the value (`*_visible`), and until the
    push itself answered, offline append included (`*_acknowledged`)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    reader = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times: dict[str, list[float]] = {k: [] for k in ("stock", "order_status", "stock_ack", "order_status_ack")}
    try:
        for i in range(pushes):
            product_id, location_id = stock_pairs[i % len(stock_pairs)]
            units = 1000 + i
            started = time.perf_counter()
            times["stock"].append(1000 * push_and_wait(
                conn, "stock_by_location_push", stock_change(product_id, location_id, units),
                "stock_by_location:units_available", {"product_id": [product_id], "location_id": [location_id]},
                units, to, reader=reader))
            times["stock_ack"].append(1000 * (time.perf_counter() - started))
            order_id, items = orders[i % len(orders)]
            status = f"bench-{i}"  # a distinct value per push: a status the reader cannot have seen before
            started = time.perf_counter()
            times["order_status"].append(1000 * push_and_wait(
                conn, "order_status_push", order_change(order_id, status, items),
                "order_status:order_status", {"order_id": [order_id]}, status, to, reader=reader))
            times["order_status_ack"].append(1000 * (time.perf_counter() - started))
    finally:
        conn.close()
        reader.close()

    def figures(values):
        return {"pushes": len(values), "p50_ms": percentile(values, 50), "p99_ms": percentile(values, 99), "max_ms": max(values)}

    return {"to": to, **{k: figures(v) for k, v in times.items()}}
