"""Validation of what clients send: the `/get-online-features` and `/push` bodies, checked
against the catalog and the server's limits before anything reaches the online store. Every
problem is a RequestError with an HTTP status and a message that names fields, never the
client's ids (they may be customer identifiers, or megabytes long)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime, timezone

from feast import ValueType

from dagster_project.serving.catalog import Catalog

# Feast's request fields that the read path accepts (and the project's own additions).
ONLINE_FIELDS = {"entities", "features", "feature_service", "full_feature_names",
                 "include_feature_view_version_metadata", "max_age_seconds", "include_age", "channel"}
PUSH_FIELDS = {"push_source_name", "df", "to", "allow_registry_cache", "transform_on_write"}
PUSH_TARGETS = ("online", "offline", "online_and_offline")
INTEGER_TYPES = {ValueType.INT32: 2**31, ValueType.INT64: 2**63, ValueType.UNIX_TIMESTAMP: 2**63}
FLOAT_TYPES = {ValueType.DOUBLE, ValueType.FLOAT}


class RequestError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Limits:
    """Bounds on one request (docs/serving.md, "Limits"); each from an environment variable."""

    max_body_bytes: int = 1_048_576
    max_entities: int = 1_000
    max_id_length: int = 256
    max_features: int = 500

    @classmethod
    def from_env(cls) -> "Limits":
        def number(name: str, default: int) -> int:
            value = int(os.environ.get(name, default))
            if value <= 0:
                raise ValueError(f"{name} must be a positive number, not {value}")
            return value

        return cls(
            max_body_bytes=number("RCL_SERVE_MAX_BODY_BYTES", cls.max_body_bytes),
            max_entities=number("RCL_SERVE_MAX_ENTITIES", cls.max_entities),
            max_id_length=number("RCL_SERVE_MAX_ID_LENGTH", cls.max_id_length),
            max_features=number("RCL_SERVE_MAX_FEATURES", cls.max_features),
        )


@dataclass(frozen=True)
class FeatureColumn:
    view: str
    feature: str
    output_name: str


@dataclass(frozen=True)
class OnlineRequest:
    entities: dict[str, list]  # join key -> values, in the client's order
    columns: list[FeatureColumn]  # requested features, in the client's (or the service's) order
    max_age_seconds: float | None
    include_age: bool
    feature_service: str | None = None
    channel: str | None = None  # a channel whose consent per customer the answer carries (consent.py)
    # on-demand views: the stored features they read that were not requested (read, not answered),
    # and the request fields they take (sent in `entities` as Feast's clients send them; not answered)
    inputs: tuple[FeatureColumn, ...] = ()
    request_data: dict[str, list] | None = None

    @property
    def join_keys(self) -> list[str]:
        """The columns of `entities` that are ids: the answer's first columns, in the client's order."""
        return [k for k in self.entities if k not in (self.request_data or {})]


def shown(name: object, limit: int = 64) -> str:
    """A client-given *name* (a field or feature name, never an id) as it appears in a message."""
    text = str(name)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _require_object(body: object, what: str) -> dict:
    if not isinstance(body, dict):
        raise RequestError(422, f"the body must be a JSON object ({what})")
    return body


def _unknown_fields(body: dict, allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise RequestError(422, f"unknown field(s) {', '.join(shown(k) for k in unknown[:5])}; "
                                f"accepted: {', '.join(sorted(allowed))}")


def _flag(body: dict, name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise RequestError(422, f"{name} must be true or false")
    return value


def parse_online_request(body: object, catalog: Catalog, limits: Limits) -> OnlineRequest:
    body = _require_object(body, "with entities and features or feature_service")
    _unknown_fields(body, ONLINE_FIELDS)
    full_names = _flag(body, "full_feature_names")
    _flag(body, "include_feature_view_version_metadata")
    columns = _requested_columns(body, catalog, limits, full_names)
    channel = _channel(body, catalog)
    inputs, request_fields = _on_demand_inputs(columns, catalog)
    stored = [c for c in columns if c.view not in catalog.on_demand] + inputs
    needed_keys: list[str] = []
    for column in stored:
        for key in catalog.views[column.view].join_keys:
            if key not in needed_keys:
                needed_keys.append(key)
    key_types = {key: catalog.views[c.view].key_types[key] for c in stored for key in catalog.views[c.view].join_keys}
    if channel is not None and catalog.consent.join_key not in needed_keys:  # consent is read per customer
        needed_keys.append(catalog.consent.join_key)
        key_types[catalog.consent.join_key] = catalog.views[catalog.consent.view].key_types[catalog.consent.join_key]
    entities = _entity_columns(body.get("entities"), "entities", needed_keys, key_types, limits, request_fields)
    request_data = {name: [_request_value(name, i, v, request_fields[name]) for i, v in enumerate(entities[name])]
                    for name in request_fields}
    max_age = body.get("max_age_seconds")
    if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, (int, float))
                                or not math.isfinite(max_age) or max_age <= 0):
        raise RequestError(422, "max_age_seconds must be a positive number of seconds")
    return OnlineRequest(entities=entities, columns=columns, max_age_seconds=max_age,
                         include_age=_flag(body, "include_age"), feature_service=body.get("feature_service"),
                         channel=channel, inputs=tuple(inputs), request_data=request_data or None)


def _on_demand_inputs(columns: list[FeatureColumn], catalog: Catalog) -> tuple[list[FeatureColumn], dict[str, ValueType]]:
    """The stored features the requested on-demand views read that the request did not ask for,
    and the request fields they take (name -> type)."""
    requested = {(c.view, c.feature) for c in columns}
    inputs: list[FeatureColumn] = []
    fields: dict[str, ValueType] = {}
    for view in dict.fromkeys(c.view for c in columns if c.view in catalog.on_demand):
        on_demand = catalog.on_demand[view]
        for source, features in on_demand.sources:
            for feature in features:
                if (source, feature) not in requested:
                    requested.add((source, feature))
                    inputs.append(FeatureColumn(source, feature, f"{source}__{feature}"))
        fields.update(on_demand.request_fields)
    return inputs, fields


def _request_value(name: str, index: int, value: object, value_type: ValueType):
    """A request field's value as the transformation gets it from Feast: a timestamp as an aware
    datetime (sent as seconds since 1970 or an ISO 8601 time), anything else as sent."""
    if value_type != ValueType.UNIX_TIMESTAMP or value is None:
        return value
    if isinstance(value, str):
        return _timestamp(f"entities.{name}", index, value, prefix="")
    try:
        return datetime.fromtimestamp(value, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise RequestError(422, f"entities.{name}[{index}] is out of range for a time") from None


def _channel(body: dict, catalog: Catalog) -> str | None:
    """The request's `channel` (email, sms, ...: a channel of the consent view), or None."""
    channel = body.get("channel")
    if channel is None:
        return None
    channels = catalog.consent.channels if catalog.consent else ()
    if not isinstance(channel, str) or channel not in channels:
        raise RequestError(422, f"channel must be one of {', '.join(channels) or '(no consent view is served)'}, "
                                f"not {shown(channel)}")
    return channel


def _requested_columns(body: dict, catalog: Catalog, limits: Limits, full_names: bool) -> list[FeatureColumn]:
    service, features = body.get("feature_service"), body.get("features")
    if service is not None and features:
        raise RequestError(422, "give either features or feature_service, not both")
    if service is not None:
        if not isinstance(service, str) or service not in catalog.services:
            raise RequestError(422, f"unknown feature service {shown(service)}; known: {', '.join(sorted(catalog.services))}")
        on_demand = [view for view, _ in catalog.services[service] if view in catalog.not_computed_on_demand]
        if on_demand:
            raise RequestError(422, f"feature service {shown(service)} has on-demand feature views "
                                    f"({', '.join(shown(v) for v in on_demand)}) that this server does not compute "
                                    "(only python mode is computed here): request its stored features with "
                                    "`features`, or use feast serve")
        refs = [(view, feature) for view, names in catalog.services[service] for feature in names]
    else:
        if not isinstance(features, list) or not features:
            raise RequestError(422, "features must be a non-empty list of 'feature_view:feature' references "
                                    "(or give feature_service)")
        if len(features) > limits.max_features:
            raise RequestError(413, f"{len(features)} features requested; the limit is {limits.max_features}")
        refs = []
        for ref in features:
            if not isinstance(ref, str) or ref.count(":") != 1:
                raise RequestError(422, f"feature reference {shown(ref)} is not of the form 'feature_view:feature'")
            view, feature = ref.split(":")
            if view in catalog.not_computed_on_demand:
                raise RequestError(422, f"on-demand feature view {shown(view)} is not computed by this server "
                                        "(only python mode is): use feast serve")
            known = catalog.views.get(view) or catalog.on_demand.get(view)
            if known is None:
                raise RequestError(422, f"unknown feature view {shown(view)} in {shown(ref)}; known: "
                                        f"{', '.join(sorted([*catalog.views, *catalog.on_demand]))}")
            if feature not in known.feature_types:
                raise RequestError(422, f"unknown feature {shown(feature)} of feature view {shown(view)}")
            refs.append((view, feature))
    columns, seen = [], set()
    for view, feature in refs:
        name = f"{view}__{feature}" if full_names else feature
        if name in seen:
            raise RequestError(422, f"feature {shown(name)} is requested twice"
                                    + ("" if full_names else " (set full_feature_names to tell views apart)"))
        seen.add(name)
        columns.append(FeatureColumn(view, feature, name))
    return columns


def _entity_columns(entities: object, what: str, needed_keys: list[str], key_types: dict[str, ValueType],
                    limits: Limits, extra_columns: dict[str, ValueType | None] | None = None) -> dict[str, list]:
    """Columns of ids (and, for a push, of values) checked: an object of equal-length, non-empty
    lists holding exactly the join keys needed, each id of its key's type and within the length limit."""
    if not isinstance(entities, dict) or not entities:
        raise RequestError(422, f"{what} must be a non-empty object of join key -> list of ids; "
                                f"expected key(s): {', '.join(needed_keys)}")
    extra_columns = extra_columns or {}
    unknown = [k for k in entities if k not in needed_keys and k not in extra_columns]
    if unknown:
        raise RequestError(422, f"unknown column(s) {', '.join(shown(k) for k in unknown[:5])} in {what}; "
                                f"expected: {', '.join([*needed_keys, *extra_columns])}")
    missing = [k for k in [*needed_keys, *extra_columns] if k not in entities]  # a push gives every column
    if missing:
        raise RequestError(422, f"missing column(s) {', '.join(missing)} in {what}")
    lengths = set()
    for key, values in entities.items():
        if not isinstance(values, list):
            raise RequestError(422, f"{what}.{key} must be a list")
        lengths.add(len(values))
    if len(lengths) > 1:
        raise RequestError(422, f"the lists in {what} have different lengths ({', '.join(map(str, sorted(lengths)))})")
    rows = lengths.pop()
    if rows == 0:
        raise RequestError(422, f"the lists in {what} are empty: give at least one entity")
    if rows > limits.max_entities:
        raise RequestError(413, f"{rows} entities in one request; the limit is {limits.max_entities}")
    for key in needed_keys:
        _check_ids(key, entities[key], key_types[key], limits)
    for name, value_type in extra_columns.items():
        if value_type is not None:
            _check_values(name, entities[name], value_type, what)
    return entities


def _check_ids(key: str, values: list, value_type: ValueType, limits: Limits) -> None:
    if value_type == ValueType.STRING:
        for i, value in enumerate(values):
            if not isinstance(value, str):
                raise RequestError(422, f"{key}[{i}] must be a string ({key} is a string key; got {_kind(value)})")
            if len(value) > limits.max_id_length:
                raise RequestError(422, f"{key}[{i}] is longer than {limits.max_id_length} characters")
    elif value_type in INTEGER_TYPES:
        bound = INTEGER_TYPES[value_type]
        for i, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, int):
                raise RequestError(422, f"{key}[{i}] must be an integer ({key} is an integer key; got {_kind(value)})")
            if not -bound <= value < bound:
                raise RequestError(422, f"{key}[{i}] is out of range for {value_type.name}")
    else:  # pragma: no cover - the project's entities are string keys
        raise RequestError(422, f"join key {key} of type {value_type.name} is not served by this endpoint")


def _check_values(name: str, values: list, value_type: ValueType, what: str = "df") -> None:
    """Values of a column given with the ids (a push's features, a request field of an on-demand
    view): null, or a JSON value of the column's type (a timestamp: seconds since 1970 or an
    ISO 8601 string)."""
    if value_type == ValueType.UNIX_TIMESTAMP:
        ok = lambda v: isinstance(v, (int, float, str)) and not isinstance(v, bool)  # noqa: E731
    elif value_type in INTEGER_TYPES:
        ok = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
    elif value_type in FLOAT_TYPES:
        ok = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)  # noqa: E731
    elif value_type == ValueType.BOOL:
        ok = lambda v: isinstance(v, bool)  # noqa: E731
    elif value_type == ValueType.STRING:
        ok = lambda v: isinstance(v, str)  # noqa: E731
    else:  # other types are left to Feast's conversion
        return
    for i, value in enumerate(values):
        if value is not None and not ok(value):
            raise RequestError(422, f"{what}.{name}[{i}] must be {value_type.name.lower()} or null (got {_kind(value)})")
        if isinstance(value, float) and not math.isfinite(value):
            raise RequestError(422, f"{what}.{name}[{i}] must be a finite number")


def _kind(value: object) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class PushRequest:
    push_source_name: str
    columns: dict[str, list]
    timestamps: list[datetime]
    timestamp_field: str
    to: str


def parse_push_request(body: object, catalog: Catalog, limits: Limits) -> PushRequest:
    body = _require_object(body, "with push_source_name and df")
    _unknown_fields(body, PUSH_FIELDS)
    name = body.get("push_source_name")
    if not isinstance(name, str) or name not in catalog.push_sources:
        raise RequestError(422, f"unknown push source {shown(name)}; known: {', '.join(sorted(catalog.push_sources))}")
    to = body.get("to", "online")
    if to not in PUSH_TARGETS:
        raise RequestError(422, f"to must be one of {', '.join(PUSH_TARGETS)}")
    source = catalog.push_sources[name]
    views = [catalog.views[v] for v in source.views]
    join_keys = list(dict.fromkeys(k for v in views for k in v.join_keys))
    key_types = {k: t for v in views for k, t in v.key_types.items()}
    value_columns: dict[str, ValueType | None] = {source.timestamp_field: None}
    for view in views:
        value_columns.update(view.feature_types)
    columns = _entity_columns(body.get("df"), "df", join_keys, key_types, limits, value_columns)
    timestamps = [_timestamp(source.timestamp_field, i, v) for i, v in enumerate(columns[source.timestamp_field])]
    return PushRequest(name, columns, timestamps, source.timestamp_field, to)


def _timestamp(field: str, index: int, value: object, prefix: str = "df.") -> datetime:
    if not isinstance(value, str):
        raise RequestError(422, f"{prefix}{field}[{index}] must be an ISO 8601 time string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise RequestError(422, f"{prefix}{field}[{index}] is not an ISO 8601 time") from None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)
