"""The read path: a validated request -> the online store (the Redis store: every view in one
MULTI/EXEC, its raw replies decoded by decode.py; any other store: `online_read` per view) ->
Feast's `/get-online-features` response (column per join key and feature, each with values,
statuses and event_timestamps), with the serving policy applied:

- a view's TTL applies online: a value older than the TTL is OUTSIDE_MAX_AGE with a null value;
- a request's `max_age_seconds` tightens that bound for every view of the request;
- an entity the store does not hold is NOT_FOUND (event time 1970-01-01, as Feast writes it);
- a stored null is NULL_VALUE; anything else PRESENT;
- `include_age` adds `ages_seconds` (now - event time) to every feature column;
- an on-demand view (python mode) is computed from the stored features it reads and the request
  fields, by its own transformation; its event time is its stalest input's.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache

from feast import ValueType
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto

from dagster_project.serving.catalog import Catalog
from dagster_project.serving.decode import decode_value, event_time, native, timestamp_text
from dagster_project.serving.request import INTEGER_TYPES, OnlineRequest

__all__ = ["entity_key", "native", "read_online_features", "timestamp_text"]

PRESENT, NULL_VALUE, NOT_FOUND, OUTSIDE_MAX_AGE = "PRESENT", "NULL_VALUE", "NOT_FOUND", "OUTSIDE_MAX_AGE"
NO_TIME = "1970-01-01T00:00:00Z"


def entity_key(join_keys: tuple[str, ...], values: tuple, key_types: dict) -> EntityKeyProto:
    """The key Feast's writers stored the row under (same join keys, same value types)."""
    return _build_entity_key(tuple(join_keys), tuple(values), tuple(key_types[k].name for k in join_keys))


# per entity of a view: None (not found), else (age in seconds, event time text, the values of the
# requested features in order, or None when older than the view's bound)
Found = tuple[float, str, list | None]


def _found_in_reply(reply: list, now_seconds: float, limit: float | None) -> Found | None:
    """One HMGET reply of the Redis store (features' ValueProto bytes, then the view's timestamp)."""
    stamp = reply[-1]
    if stamp is None:  # no timestamp of this view: the entity is not in it
        return None
    seconds, text = event_time(stamp)
    age = now_seconds - seconds
    if limit is not None and age > limit:
        return age, text, None
    return age, text, [decode_value(data) for data in reply[:-1]]


def _found_in_row(row: tuple, features: list[str], now_seconds: float, limit: float | None) -> Found | None:
    """One `online_read` row of any store: (event time, {feature: ValueProto})."""
    stored_time, values = row
    if stored_time is None or values is None:
        return None
    age = now_seconds - stored_time.timestamp()
    text = timestamp_text(stored_time.astimezone(timezone.utc))
    if limit is not None and age > limit:
        return age, text, None
    return age, text, [None if values.get(f) is None else native(values[f]) for f in features]


def _read_stored(online_store, config, planned: list, now_seconds: float) -> list[list[Found | None]]:
    """Per planned view, what the store holds of each of its distinct entities. The project's Redis
    store reads all views in one round trip (and one snapshot) and hands back the raw replies,
    decoded here without protobuf objects; any other store is read view by view."""
    reads = [(served.view, protos, [c.feature for c in columns]) for served, columns, _, _, protos, _ in planned]
    if hasattr(online_store, "online_read_many"):
        replies = online_store.online_read_many(config, reads, raw=True)
        return [[_found_in_reply(reply, now_seconds, limit) for reply in view_replies]
                for (*_, limit), view_replies in zip(planned, replies)]
    return [[_found_in_row(row, features, now_seconds, limit)
             for row in online_store.online_read(config, view, protos, features)]
            for (view, protos, features), (*_, limit) in zip(reads, planned)]


def _view_columns(columns: list, rows: list[Found | None], include_age: bool) -> list[dict]:
    """The response columns of one view's features, from what was found for each request row."""
    times = [NO_TIME if found is None else found[1] for found in rows]
    ages = [None if found is None else round(found[0], 3) for found in rows] if include_age else None
    outs = []
    for i in range(len(columns)):
        values = [None if found is None or found[2] is None else found[2][i] for found in rows]
        statuses = [NOT_FOUND if found is None else OUTSIDE_MAX_AGE if found[2] is None
                    else NULL_VALUE if value is None else PRESENT for found, value in zip(rows, values)]
        out = {"values": values, "statuses": statuses, "event_timestamps": times[:]}
        if include_age:
            out["ages_seconds"] = ages[:]
        outs.append(out)
    return outs


def read_online_features(catalog: Catalog, online_store, config, request: OnlineRequest, now: datetime) -> dict:
    """The response to a validated request, read at `now` (an aware datetime)."""
    keys = request.join_keys  # request fields are not answered
    rows = len(request.entities[keys[0]])
    names: list[str] = list(keys)
    results: list[dict] = [
        {"values": request.entities[k], "statuses": [PRESENT] * rows, "event_timestamps": [NO_TIME] * rows}
        for k in keys
    ]
    by_view: dict[str, list] = {}
    for column in [*request.columns, *request.inputs]:
        if column.view not in catalog.on_demand:
            by_view.setdefault(column.view, []).append(column)
    planned = []
    for view_name, columns in by_view.items():
        served = catalog.views[view_name]
        view_keys = list(zip(*(request.entities[k] for k in served.join_keys)))
        unique = list(dict.fromkeys(view_keys))
        limit = served.ttl_seconds
        if request.max_age_seconds is not None:
            limit = request.max_age_seconds if limit is None else min(limit, request.max_age_seconds)
        planned.append((served, columns, view_keys, unique,
                        [_entity_key(served.join_keys, k, served.key_type_names) for k in unique], limit))
    columns_out: dict[tuple[str, str], dict] = {}
    found_by_view: dict[str, list[Found | None]] = {}
    for (served, columns, view_keys, unique, _, _), found in zip(planned, _read_stored(online_store, config, planned,
                                                                                     now.timestamp())):
        if len(unique) < len(view_keys):  # an entity asked for twice is read once
            per_key = dict(zip(unique, found))
            found = [per_key[key] for key in view_keys]
        found_by_view[served.view.name] = found
        for column, out in zip(columns, _view_columns(columns, found, request.include_age)):
            columns_out[(served.view.name, column.feature)] = out
    for view_name in dict.fromkeys(c.view for c in request.columns if c.view in catalog.on_demand):
        columns_out.update(_on_demand_columns(catalog.on_demand[view_name], request, columns_out, found_by_view,
                                              catalog, rows))
    for column in request.columns:
        names.append(column.output_name)
        results.append(columns_out[(column.view, column.feature)])
    return {"metadata": {"feature_names": names}, "results": results}


def _on_demand_columns(on_demand, request: OnlineRequest, columns_out: dict, found_by_view: dict, catalog: Catalog,
                       rows: int) -> dict[tuple[str, str], dict]:
    """An on-demand view's columns, computed by its own transformation (Feast's `transform_dict`)
    from the stored features it reads (null when not found or too old; timestamps as aware
    datetimes, as Feast hands them over), its entities' keys and the request fields. A value is
    NULL_VALUE when the transformation returns null, else PRESENT; its event time is the oldest
    of its stored inputs' (the computed value is as fresh as its stalest input), 1970 when none
    was found."""
    inputs: dict[str, list] = {key: request.entities[key] for key in on_demand.join_keys}
    for source, features in on_demand.sources:
        types = catalog.views[source].feature_types
        for feature in features:
            values = columns_out[(source, feature)]["values"]
            if types[feature] == ValueType.UNIX_TIMESTAMP:
                values = [None if v is None else datetime.fromtimestamp(v, tz=timezone.utc) for v in values]
            inputs[feature] = values
    inputs.update(request.request_data or {})
    outputs = on_demand.view.transform_dict(inputs)
    oldest: list[tuple[float, str] | None] = []  # (age, event time) of the stalest stored input per row
    for row in range(rows):
        found = [found_by_view[source][row] for source, _ in on_demand.sources]
        times = [f[:2] for f in found if f is not None]
        oldest.append(max(times) if times else None)
    computed = {}
    for feature in on_demand.features:
        returned = outputs.get(feature)
        values = [None] * rows if returned is None else [_json_value(v) for v in returned]
        out = {"values": values,
               "statuses": [NULL_VALUE if v is None else PRESENT for v in values],
               "event_timestamps": [NO_TIME if t is None else t[1] for t in oldest]}
        if request.include_age:
            out["ages_seconds"] = [None if t is None else round(t[0], 3) for t in oldest]
        computed[(on_demand.view.name, feature)] = out
    return computed


def _json_value(value):
    """A transformation's output as the answer's JSON holds it: numbers, text, booleans or null
    (NaN is null; a time is seconds since 1970, as stored timestamps are answered)."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (list, tuple)):  # numpy and pandas scalars
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, datetime):
        return int(value.timestamp())
    return value


def _build_entity_key(join_keys: tuple[str, ...], values: tuple, key_type_names: tuple[str, ...]) -> EntityKeyProto:
    protos = []
    for value, type_name in zip(values, key_type_names):
        if type_name == "INT32":
            protos.append(ValueProto(int32_val=value))
        elif type_name in _INTEGER_TYPE_NAMES:
            protos.append(ValueProto(int64_val=value))
        else:
            protos.append(ValueProto(string_val=value))
    return EntityKeyProto(join_keys=list(join_keys), entity_values=protos)


# hot entities (a shop's products, active customers) are built once; the protos are shared, never modified
_entity_key = lru_cache(maxsize=65_536)(_build_entity_key)
_INTEGER_TYPE_NAMES = frozenset(t.name for t in INTEGER_TYPES)
