"""Push and publish together: a view that is also fed by a push source (cart_features) keeps,
across a nightly publish, the values pushed online after its feature table was built."""

from __future__ import annotations


def keep_newer_pushed_values(config, feature_view, online_store, batches, chunk_rows: int = 5000):
    """For a view that is also fed by a push source: a publish replaces the view, but a value
    pushed online after the feature table was built is newer than the table's row for that
    entity, so the publish writes the pushed row back instead of the older batch row (and, on
    SQLite, whose publish rewrites the whole table, keeps entities only pushes know yet; Redis
    only removes entities of its last publish). Latest event timestamp wins, as between pushes.

    A push that lands between this read and the publish's commit can still be overwritten by
    the batch row (until that customer's next push); pushes are per-change, so the window is the
    publish's duration for the few entities pushed during it."""
    from feast.utils import make_tzaware

    seen = set()
    for rows in batches:
        rows = list(rows)
        current = online_store.online_read(config, feature_view, [r[0] for r in rows])
        merged = []
        for row, (online_ts, online_values) in zip(rows, current):
            seen.add(_canonical(row[0]))
            if online_ts is not None and online_values and make_tzaware(online_ts) > make_tzaware(row[2]):
                merged.append((row[0], online_values, online_ts, row[3]))
            else:
                merged.append(row)
        yield merged
    if hasattr(online_store, "online_entity_keys"):
        only_pushed = [k for k in online_store.online_entity_keys(config, feature_view) if _canonical(k) not in seen]
        for start in range(0, len(only_pushed), chunk_rows):
            keys = only_pushed[start:start + chunk_rows]
            yield [(k, values, ts, None) for k, (ts, values) in zip(keys, online_store.online_read(config, feature_view, keys))
                   if ts is not None and values]


def _canonical(entity_key) -> tuple:
    """An entity key independent of its join keys' order: a batch row lists them in the view's
    order, the online store in sorted order (a view of two entities, e.g. product x location)."""
    return tuple(sorted(zip(entity_key.join_keys, (v.SerializeToString() for v in entity_key.entity_values))))
