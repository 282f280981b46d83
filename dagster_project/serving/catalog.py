"""What the server can serve, resolved from the Feast registry once and refreshed on a short TTL:
feature views (join keys and their types, features, TTL), on-demand feature views in python mode
(computed per request), feature services (view -> features) and push sources, plus the online
store instance named by feature_store.yaml.

Consent is read from tags (docs/privacy.md, "Consent"): the view tagged `consent_channels`
("email,sms,personalization") holds each channel's `<channel>_consent` and
`<channel>_consent_as_of`; a view or service tagged `requires_consent: <channel>` is served only
for customers whose consent for that channel is in force."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field

from feast import FeatureStore, FeatureView, PushSource, ValueType


@dataclass(frozen=True)
class ServedView:
    """One feature view as the read path needs it."""

    view: FeatureView
    join_keys: tuple[str, ...]
    key_types: dict[str, ValueType]
    features: tuple[str, ...]
    feature_types: dict[str, ValueType]
    ttl_seconds: float | None  # None: the view has no TTL (0 in Feast)
    key_type_names: tuple[str, ...]  # the join keys' type names in join key order (hashable: a cache key)
    requires_consent: str | None = None  # tag requires_consent: the channel whose consent it is served under


@dataclass(frozen=True)
class ServedOnDemandView:
    """An on-demand feature view in python mode, computed per request from the stored features it
    reads and the request fields the caller sends (in `entities`), the way Feast computes it."""

    view: object  # feast.OnDemandFeatureView: its transform_dict runs the transformation
    sources: tuple[tuple[str, tuple[str, ...]], ...]  # (stored view, the features it reads)
    request_fields: dict[str, ValueType]
    features: tuple[str, ...]
    feature_types: dict[str, ValueType]
    join_keys: tuple[str, ...]  # its sources' join keys
    requires_consent: str | None = None


@dataclass(frozen=True)
class ConsentSource:
    """The view holding consent per channel (tag consent_channels), keyed by one join key."""

    view: str
    join_key: str
    channels: tuple[str, ...]


@dataclass(frozen=True)
class ServedPushSource:
    name: str
    views: tuple[str, ...]  # the feature views fed by this push source
    timestamp_field: str


@dataclass(frozen=True)
class Catalog:
    views: dict[str, ServedView]
    # service name -> [(view name, [feature names])] in the service's order
    services: dict[str, list[tuple[str, list[str]]]]
    push_sources: dict[str, ServedPushSource]
    loaded_at: float = field(default_factory=time.monotonic)
    # service name -> the channel its customer-keyed views are served under (tag requires_consent)
    service_consent: dict[str, str] = field(default_factory=dict)
    consent: ConsentSource | None = None
    on_demand: dict[str, ServedOnDemandView] = field(default_factory=dict)  # computed per request
    # on-demand views this server does not compute (pandas or substrait mode, aggregations,
    # written to the online store): `feast serve` serves them
    not_computed_on_demand: frozenset[str] = frozenset()


def load_catalog(store: FeatureStore) -> Catalog:
    """Read the registry (a fresh copy: callers refresh it on their own schedule)."""
    store.refresh_registry()
    entity_types = {e.join_key: e.value_type for e in store.list_entities()}
    views: dict[str, ServedView] = {}
    push_sources: dict[str, list[str]] = {}
    push_timestamp: dict[str, str] = {}
    for view in store.list_feature_views():
        key_types = {c.name: c.dtype.to_value_type() for c in view.entity_columns}
        join_keys = tuple(view.join_keys)
        for key in join_keys:
            key_types.setdefault(key, entity_types.get(key, ValueType.STRING))
        ttl = view.ttl.total_seconds() if view.ttl else None
        views[view.name] = ServedView(
            view=view, join_keys=join_keys, key_types=key_types,
            features=tuple(f.name for f in view.features),
            feature_types={f.name: f.dtype.to_value_type() for f in view.features},
            ttl_seconds=ttl or None,
            key_type_names=tuple(key_types[k].name for k in join_keys),
            requires_consent=view.tags.get("requires_consent") or None,
        )
        if isinstance(view.stream_source, PushSource):
            push_sources.setdefault(view.stream_source.name, []).append(view.name)
            push_timestamp[view.stream_source.name] = view.stream_source.batch_source.timestamp_field
    on_demand, not_computed = {}, set()
    for odfv in store.list_on_demand_feature_views():
        sources = tuple((p.name, tuple(f.name for f in p.features))
                        for p in odfv.source_feature_view_projections.values())
        if (odfv.mode != "python" or odfv.write_to_online_store or getattr(odfv, "aggregations", None)
                or any(name not in views for name, _ in sources)):
            not_computed.add(odfv.name)
            continue
        on_demand[odfv.name] = ServedOnDemandView(
            view=odfv, sources=sources,
            request_fields={f.name: f.dtype.to_value_type()
                            for source in odfv.source_request_sources.values() for f in source.schema},
            features=tuple(f.name for f in odfv.features),
            feature_types={f.name: f.dtype.to_value_type() for f in odfv.features},
            join_keys=tuple(dict.fromkeys(k for name, _ in sources for k in views[name].join_keys)),
            requires_consent=odfv.tags.get("requires_consent") or None,
        )
    feature_services = store.list_feature_services()
    services = {
        service.name: [(p.name, [f.name for f in p.features]) for p in service.feature_view_projections]
        for service in feature_services
    }
    return Catalog(
        views=views,
        services=services,
        push_sources={name: ServedPushSource(name, tuple(names), push_timestamp[name])
                      for name, names in push_sources.items()},
        service_consent={s.name: s.tags["requires_consent"] for s in feature_services if s.tags.get("requires_consent")},
        consent=consent_source(views),
        on_demand=on_demand,
        not_computed_on_demand=frozenset(not_computed),
    )


def consent_source(views: dict[str, ServedView]) -> ConsentSource | None:
    """The view tagged consent_channels, with the channels whose two features it has."""
    for served in views.values():
        tagged = served.view.tags.get("consent_channels")
        if tagged and len(served.join_keys) == 1:
            channels = tuple(c.strip() for c in tagged.split(",")
                             if {f"{c.strip()}_consent", f"{c.strip()}_consent_as_of"} <= set(served.features))
            return ConsentSource(served.view.name, served.join_keys[0], channels)
    return None


def open_online_store(store: FeatureStore):
    """An instance of the online store class feature_store.yaml names (its `type`), built the way
    Feast builds it, without reaching into the FeatureStore's provider."""
    type_name = store.config.online_store.type
    if "." not in type_name:
        raise ValueError(f"online store type {type_name!r}: the lean read path serves the project's own "
                         "stores, named by their class path in feature_store.yaml")
    module_name, class_name = type_name.rsplit(".", 1)
    return getattr(importlib.import_module(module_name), class_name)()
