"""The consistency check after a publish: for a sample of entities of a feature view, the online
store's values (read as the server reads them) equal the latest row of the offline feature table
(the Parquet export Feast materializes from). Mismatches come back with examples.

A view fed by a push source may hold a newer pushed value online: a value whose online event
time is later than the table's row is counted as pushed, not as a mismatch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

from dagster_project.settings import Settings

MAX_EXAMPLES = 10


@dataclass
class ViewConsistency:
    view: str
    sampled: int = 0
    compared_values: int = 0
    pushed_newer: int = 0
    mismatches: int = 0
    examples: list[dict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.mismatches == 0

    def add(self, example: dict) -> None:
        self.mismatches += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example)


def _same(offline, online) -> bool:
    if offline is None or online is None:
        return offline is None and online is None
    if isinstance(offline, datetime) and isinstance(online, int):  # a UnixTimestamp: whole seconds online
        aware = offline if offline.tzinfo else offline.replace(tzinfo=timezone.utc)  # naive: UTC
        return int(aware.timestamp()) == online
    if isinstance(offline, float) or isinstance(online, float):
        if isinstance(offline, bool) or isinstance(online, bool):
            return offline == online
        if math.isnan(float(offline)) and math.isnan(float(online)):
            return True
        return math.isclose(float(offline), float(online), rel_tol=1e-9, abs_tol=1e-12)
    return offline == online


def latest_offline_rows(settings: Settings, view, sample_size: int, seed: int = 0) -> list[dict]:
    """A deterministic sample (by a seeded hash of the keys) of the latest row per entity."""
    import duckdb

    from dagster_project.feast_ext.feature_tables import feature_table_path

    ident = lambda name: '"' + name.replace('"', '""') + '"'  # noqa: E731
    keys = ", ".join(ident(k) for k in view.join_keys)
    columns = ", ".join(ident(c) for c in [*view.join_keys, *(f.name for f in view.features), "event_timestamp"])
    with duckdb.connect(config={"memory_limit": settings.duckdb_memory_limit}) as conn:
        cursor = conn.execute(
            f"""
            select {columns} from read_parquet(?)
            where {" and ".join(f"{ident(k)} is not null" for k in view.join_keys)}
            qualify row_number() over (partition by {keys} order by event_timestamp desc) = 1
            order by hash(concat_ws('|', {keys}, ?::varchar)) limit ?
            """,
            [str(feature_table_path(settings, view.name)), str(seed), sample_size],
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def check_online_consistency(settings: Settings, views=None, sample_size: int = 50, seed: int = 0,
                             store=None) -> dict[str, ViewConsistency]:
    """Compare sampled entities of each view (default: every published view) online vs offline."""
    from feast.utils import make_tzaware

    from dagster_project.feast_ext.feature_tables import FEATURE_VIEWS, feature_table_is_empty, feature_table_path
    from dagster_project.feast_ext.repo import get_feature_store
    from dagster_project.serving.catalog import open_online_store
    from dagster_project.serving.read import entity_key, native

    store = store or get_feature_store(settings)
    online_store = open_online_store(store)
    results = {}
    for name in views or FEATURE_VIEWS:
        result = results[name] = ViewConsistency(name)
        if feature_table_is_empty(feature_table_path(settings, name)):
            continue  # nothing published (see feature_store.materialize_view)
        view = store.get_feature_view(name)
        key_types = {c.name: c.dtype.to_value_type() for c in view.entity_columns}
        rows = latest_offline_rows(settings, view, sample_size, seed)
        result.sampled = len(rows)
        keys = [tuple(row[k] for k in view.join_keys) for row in rows]
        stored = online_store.online_read(store.config, view,
                                          [entity_key(tuple(view.join_keys), k, key_types) for k in keys])
        for row, key, (online_time, values) in zip(rows, keys, stored):
            entity = dict(zip(view.join_keys, key))
            if online_time is None or values is None:
                result.add({"entity": entity, "problem": "not online"})
                continue
            offline_time = make_tzaware(row["event_timestamp"])
            if online_time > offline_time:
                result.pushed_newer += 1
                continue
            if online_time != offline_time:
                result.add({"entity": entity, "problem": "event time differs",
                            "offline": offline_time.isoformat(), "online": online_time.isoformat()})
                continue
            for feature in (f.name for f in view.features):
                online = native(values[feature]) if feature in values else None
                result.compared_values += 1
                if not _same(row[feature], online):
                    result.add({"entity": entity, "feature": feature, "offline": row[feature], "online": online})
    return results
