"""The read path: a validated request -> one `online_read` per feature view on the online store
-> Feast's `/get-online-features` response (column per join key and feature, each with values,
statuses and event_timestamps), with the serving policy applied:

- a view's TTL applies online: a value older than the TTL is OUTSIDE_MAX_AGE with a null value;
- a request's `max_age_seconds` tightens that bound for every view of the request;
- an entity the store does not hold is NOT_FOUND (event time 1970-01-01, as Feast writes it);
- a stored null is NULL_VALUE; anything else PRESENT;
- `include_age` adds `ages_seconds` (now - event time) to every feature column.
"""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from functools import lru_cache

from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto

from dagster_project.serving.catalog import Catalog
from dagster_project.serving.request import INTEGER_TYPES, OnlineRequest

PRESENT, NULL_VALUE, NOT_FOUND, OUTSIDE_MAX_AGE = "PRESENT", "NULL_VALUE", "NOT_FOUND", "OUTSIDE_MAX_AGE"
NO_TIME = "1970-01-01T00:00:00Z"


def entity_key(join_keys: tuple[str, ...], values: tuple, key_types: dict) -> EntityKeyProto:
    """The key Feast's writers stored the row under (same join keys, same value types)."""
    protos = []
    for key, value in zip(join_keys, values):
        if key_types[key] in INTEGER_TYPES:
            protos.append(ValueProto(int64_val=value) if key_types[key].name != "INT32" else ValueProto(int32_val=value))
        else:
            protos.append(ValueProto(string_val=value))
    return EntityKeyProto(join_keys=list(join_keys), entity_values=protos)


def native(value: ValueProto):
    """A stored value as JSON-ready Python (the scalar and list types the project's views use)."""
    which = value.WhichOneof("val")
    if which is None or which == "null_val":
        return None
    if which == "bytes_val":
        return base64.b64encode(value.bytes_val).decode("ascii")
    field = getattr(value, which)
    return list(field.val) if hasattr(field, "val") else field


@lru_cache(maxsize=65_536)  # feature rows share timestamps (one per day): each is formatted once
def timestamp_text(ts: datetime) -> str:
    """RFC 3339 with a Z, fractions only when present (as Feast's server writes them)."""
    base = ts.strftime("%Y-%m-%dT%H:%M:%S")
    if ts.microsecond == 0:
        return base + "Z"
    if ts.microsecond % 1000 == 0:
        return f"{base}.{ts.microsecond // 1000:03d}Z"
    return f"{base}.{ts.microsecond:06d}Z"


def _read_stored(online_store, config, planned: list) -> list:
    """One `online_read` result per planned view; the project's Redis store reads them all in one
    round trip (and one snapshot), any other store view by view."""
    reads = [(served.view, protos, [c.feature for c in columns]) for served, columns, _, _, protos in planned]
    if hasattr(online_store, "online_read_many"):
        return online_store.online_read_many(config, reads)
    return [online_store.online_read(config, view, protos, features) for view, protos, features in reads]


def read_online_features(catalog: Catalog, online_store, config, request: OnlineRequest, now: datetime) -> dict:
    """The response to a validated request, read at `now` (an aware datetime)."""
    rows = len(next(iter(request.entities.values())))
    names: list[str] = list(request.entities)
    results: list[dict] = [
        {"values": values, "statuses": [PRESENT] * rows, "event_timestamps": [NO_TIME] * rows}
        for values in request.entities.values()
    ]
    by_view: dict[str, list] = {}
    for column in request.columns:
        by_view.setdefault(column.view, []).append(column)
    columns_out: dict[tuple[str, str], dict] = {}
    now_seconds = now.timestamp()
    planned = []
    for view_name, columns in by_view.items():
        served = catalog.views[view_name]
        keys = list(zip(*(request.entities[k] for k in served.join_keys)))
        unique = list(dict.fromkeys(keys))
        planned.append((served, columns, keys, unique,
                        [entity_key(served.join_keys, k, served.key_types) for k in unique]))
    for (served, columns, keys, unique, _), stored in zip(planned, _read_stored(online_store, config, planned)):
        view_name = served.view.name
        limit = served.ttl_seconds
        if request.max_age_seconds is not None:
            limit = request.max_age_seconds if limit is None else min(limit, request.max_age_seconds)
        outs = []
        for column in columns:
            out = {"values": [None] * rows, "statuses": [NOT_FOUND] * rows, "event_timestamps": [NO_TIME] * rows}
            if request.include_age:
                out["ages_seconds"] = [None] * rows
            columns_out[(view_name, column.feature)] = out
            outs.append((column.feature, out["values"], out["statuses"], out["event_timestamps"],
                         out.get("ages_seconds")))
        per_key = dict(zip(unique, stored))
        for row, key in enumerate(keys):
            event_time, values = per_key[key]
            if event_time is None or values is None:
                continue
            text = timestamp_text(event_time.astimezone(timezone.utc))
            age = now_seconds - event_time.timestamp()
            stale = limit is not None and age > limit
            for feature, out_values, out_statuses, out_times, out_ages in outs:
                out_times[row] = text
                if out_ages is not None:
                    out_ages[row] = round(age, 3)
                if stale:
                    out_statuses[row] = OUTSIDE_MAX_AGE
                    continue
                stored_value = values.get(feature)
                value = None if stored_value is None else native(stored_value)
                out_values[row] = value
                out_statuses[row] = NULL_VALUE if value is None else PRESENT
    for column in request.columns:
        names.append(column.output_name)
        results.append(columns_out[(column.view, column.feature)])
    return {"metadata": {"feature_names": names}, "results": results}
