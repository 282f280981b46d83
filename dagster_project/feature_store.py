"""The one translation from feature tables to Feast: applying the feature repo, materializing
feature views into the online store, and opening the store for readers."""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.parquet as pq

from dagster_project.settings import FEATURE_REPO_DIR, Settings

log = logging.getLogger(__name__)

# Feature view name -> the Parquet export (dbt model of the same name) it reads.
FEATURE_VIEWS = ("customer_features", "product_features", "cart_features")


def get_feature_store(settings: Settings):
    from feast import FeatureStore

    os.environ.update(settings.env())  # Feast fills its yaml from the environment (until its config is built in code)
    return FeatureStore(repo_path=str(FEATURE_REPO_DIR), fs_yaml_file=settings.feast_yaml)


# The repo's modules in import order (later ones import earlier ones).
REPO_MODULES = ("entities", "data_sources", "feature_views", "feature_services")


def apply_feature_repo(settings: Settings) -> str:
    """`feast apply` of feature_repo/, in process (importing feast again in a child process
    would cost ~10 s). Returns Feast's report of the changes."""
    import contextlib
    import importlib
    import io

    from feast.repo_operations import _get_repo_contents, apply_total_with_repo_instance

    settings.feast_dir.mkdir(parents=True, exist_ok=True)
    _forget_registry_of_another_location(settings)
    store = get_feature_store(settings)
    report = io.StringIO()
    # Feast names repo modules relative to the working directory, and data_sources reads the
    # settings when imported: reload so a changed environment is picked up. Steps run one at a
    # time in this process, so changing directory for the call is safe.
    if str(FEATURE_REPO_DIR) not in sys.path:
        sys.path.insert(0, str(FEATURE_REPO_DIR))
    with contextlib.chdir(FEATURE_REPO_DIR), contextlib.redirect_stdout(report):
        for name in REPO_MODULES:
            module = sys.modules.get(name)
            if module is not None and getattr(module, "__file__", "").startswith(str(FEATURE_REPO_DIR)):
                importlib.reload(module)
            else:
                importlib.import_module(name)
        repo = _get_repo_contents(FEATURE_REPO_DIR, store.config.project, store.config)
        apply_total_with_repo_instance(store, store.config.project, store.registry, repo, skip_source_validation=True)
    return report.getvalue()


def _forget_registry_of_another_location(settings: Settings) -> None:
    """A registry records where its online tables live. Applied from a copied or moved Feast
    folder, Feast would tear down the tables at the recorded (original) location as obsolete
    infrastructure: another environment's online store. The folder remembers its own location;
    in a copy the registry is started afresh (the online rows copied along are kept: tables are
    created only if missing)."""
    marker = settings.feast_dir / ".location"
    registry = settings.feast_dir / "registry.db"
    here = str(settings.feast_dir.resolve())
    if registry.exists() and marker.exists() and marker.read_text().strip() != here:
        log.warning("Feast registry in %s was copied from %s: starting a fresh registry", here, marker.read_text().strip())
        registry.unlink()
    elif registry.exists() and not marker.exists():
        log.warning("Feast registry in %s has no recorded location: starting a fresh registry", here)
        registry.unlink()
    marker.write_text(here + "\n")


def feature_table_path(settings: Settings, view_name: str) -> Path:
    return settings.features_dir / f"{view_name}.parquet"


def feature_table_is_empty(path: Path) -> bool:
    """No row, or the one all-null row dbt-duckdb writes for an `external` model whose query
    returned nothing (so that the file keeps its schema): a source not delivered (no web
    analytics, hence no carts)."""
    metadata = pq.ParquetFile(path).metadata
    if metadata.num_rows != 1:
        return metadata.num_rows == 0
    return all(value is None for value in pq.read_table(path).to_pylist()[0].values())


def event_time_range(path: Path) -> tuple[datetime, datetime]:
    """Min and max event_timestamp of a feature table, read from Parquet statistics."""
    import pyarrow.compute as pc

    column = pq.read_table(path, columns=["event_timestamp"]).column("event_timestamp")
    bounds = pc.min_max(column)
    return bounds["min"].as_py(), bounds["max"].as_py()


class OnlineStoreUnavailable(RuntimeError):
    """The online store could not be written after every retry; nothing of the publish applied."""


# Connection errors of the online store are retried with exponential backoff: attempts and the
# first delay (doubling each time) come from the environment so tests and operators can tune them.
MATERIALIZE_ATTEMPTS = int(os.environ.get("RCL_ONLINE_STORE_ATTEMPTS", "4"))
MATERIALIZE_FIRST_DELAY = float(os.environ.get("RCL_ONLINE_STORE_RETRY_DELAY", "1.0"))
# Entity rows converted and sent per chunk of a publish (client memory vs round trips); the
# chunks of one publish still form one transaction.
PUBLISH_CHUNK_ROWS = int(os.environ.get("RCL_PUBLISH_CHUNK_ROWS", "5000"))


def _redacted(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url


def _connection_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]  # builtins (OSError family)
    try:
        import redis

        errors += [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError]
    except ImportError:  # pragma: no cover - redis is a dependency of the project
        pass
    return tuple(errors)


def _check_online_store(settings: Settings) -> None:
    """Fail before writing anything when the online store does not answer."""
    if settings.online_store == "redis":
        import redis

        client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
        try:
            client.ping()
        finally:
            client.close()


def publish_view(store, view_name: str, start: datetime, end: datetime, *, chunk_rows: int | None = None,
                 on_queued=None, memory_limit: str | None = None) -> dict:
    """Publish one feature view: the latest row per entity in [start, end] replaces the view's
    online values in ONE transaction of the online store (dagster_project/online_store.py), then
    the materialization interval is recorded in the registry.

    This replaces `FeatureStore.materialize` for our views so that the whole view goes to one
    write however Feast chunks (`online_write_batch_size`), while the rows are converted and
    sent chunk by chunk (the client never holds the whole view as protobufs). The rows are the
    ones Feast's materialization reads (latest event timestamp per entity, then latest created
    timestamp, within [start, end]): for a Parquet FileSource through one DuckDB query bounded by
    `memory_limit` (`latest_rows`), else through the offline store. A store that takes encoded
    values (Redis) gets each value's `ValueProto` bytes written straight from the Arrow columns
    (dagster_project/proto_encoding.py) instead of one protobuf object per value."""
    from feast.utils import _convert_arrow_to_proto, _get_column_names, make_tzaware

    start, end = make_tzaware(start), make_tzaware(end)  # naive means UTC, as in FeatureStore.materialize
    feature_view = store.get_feature_view(view_name)
    provider = store._get_provider()
    online_store = provider.online_store
    if not hasattr(online_store, "publish"):
        raise TypeError(
            f"online store {type(online_store).__name__} cannot publish a view atomically: "
            "feature_store.yaml must name a dagster_project.online_store store"
        )
    entities = [store.registry.get_entity(name, store.project) for name in feature_view.entities]
    join_keys, feature_columns, timestamp_field, created_column = _get_column_names(feature_view, entities)
    started = time.monotonic()
    table = latest_rows(store, feature_view, join_keys, feature_columns, timestamp_field, created_column,
                        start, end, memory_limit=memory_limit)
    read_seconds = time.monotonic() - started
    value_types = {column.name: column.dtype.to_value_type() for column in feature_view.entity_columns}
    chunks = table.to_batches(max_chunksize=chunk_rows or PUBLISH_CHUNK_ROWS)
    encoded = getattr(online_store, "accepts_encoded_values", False) and not feature_view.batch_source.field_mapping
    if encoded:
        batches = (_encoded_rows(batch, feature_view, value_types) for batch in chunks)
    else:
        batches = (_convert_arrow_to_proto(batch, feature_view, value_types) for batch in chunks)
    if feature_view.stream_source is not None:  # also fed by pushes: keep what is newer online
        # read before the publish starts (SQLite's publish empties the table in its transaction)
        batches = list(_keep_newer_pushed_values(store.config, feature_view, online_store, batches))
    report = online_store.publish(store.config, feature_view, batches, on_queued=on_queued)
    store.registry.apply_materialization(feature_view, store.project, start, end)
    report.update(read_seconds=round(read_seconds, 3), seconds=round(time.monotonic() - started, 3),
                  encoded_values=bool(encoded))
    return report


def latest_rows(store, feature_view, join_keys: list[str], feature_columns: list[str], timestamp_field: str,
                created_column: str | None, start: datetime, end: datetime, *, memory_limit: str | None = None):
    """The latest row per entity with its event timestamp in [start, end] (ties: the latest
    created timestamp), as an Arrow table with the source's column names mapped to the view's.

    A Parquet FileSource is read by one DuckDB query (`qualify row_number() ...`) in a connection
    bounded by `memory_limit` (timestamps compared as naive UTC, as Feast does); any other source through the offline store's
    `pull_latest_from_table_or_query`, as Feast's materialization does."""
    from feast import FileSource
    from feast.utils import _run_pyarrow_field_mapping, to_naive_utc

    source = feature_view.batch_source
    if isinstance(source, FileSource) and str(source.path).endswith(".parquet") and "://" not in str(source.path):
        import duckdb

        path = Path(source.path)
        if not path.is_absolute():
            path = Path(store.config.repo_path) / path
        ident = lambda name: '"' + name.replace('"', '""') + '"'  # noqa: E731
        columns = ", ".join(ident(c) for c in [*join_keys, *feature_columns, timestamp_field]
                            + ([created_column] if created_column else []))
        order = f"{ident(timestamp_field)} desc" + (f", {ident(created_column)} desc" if created_column else "")
        config = {}
        if memory_limit:
            config["memory_limit"] = memory_limit
        conn = duckdb.connect(config=config)
        try:
            table = conn.sql(
                f"""
                select {columns} from read_parquet(?)
                where cast({ident(timestamp_field)} as timestamp) >= ?
                  and cast({ident(timestamp_field)} as timestamp) <= ?
                qualify row_number() over (partition by {", ".join(ident(k) for k in join_keys)} order by {order}) = 1
                """,
                params=[str(path), to_naive_utc(start), to_naive_utc(end)],
            ).to_arrow_table()
        finally:
            conn.close()
    else:
        provider = store._get_provider()
        table = provider.offline_store.pull_latest_from_table_or_query(
            config=store.config, data_source=source, join_key_columns=join_keys,
            feature_name_columns=feature_columns, timestamp_field=timestamp_field,
            created_timestamp_column=created_column, start_date=start, end_date=end,
        ).to_arrow()
    if source.field_mapping:
        table = _run_pyarrow_field_mapping(table, source.field_mapping)
    return table


def _encoded_rows(batch, feature_view, join_key_types: dict) -> list:
    """Rows of one Arrow batch in the publish format (entity key, {feature: value}, event
    timestamp, created timestamp), each value already the bytes of its `ValueProto`; a column of
    a type proto_encoding does not write goes through Feast's conversion (then serialized)."""
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
    from feast.type_map import python_values_to_proto_values

    from dagster_project.proto_encoding import encode_column, utc_datetimes

    names = [f.name for f in feature_view.features]
    columns = []
    for field in feature_view.features:
        column = batch.column(field.name)
        values = encode_column(column, field.dtype.to_value_type())
        if values is None:
            values = [v.SerializeToString() for v in
                      python_values_to_proto_values(column.to_pylist(), field.dtype.to_value_type())]
        columns.append(values)
    keys = list(join_key_types)
    key_values = [python_values_to_proto_values(batch.column(k).to_pylist(), join_key_types[k]) for k in keys]
    entity_keys = [EntityKeyProto(join_keys=keys, entity_values=list(values)) for values in zip(*key_values)]
    timestamps = utc_datetimes(batch.column(feature_view.batch_source.timestamp_field))
    return [(key, dict(zip(names, values)), ts, None)
            for key, values, ts in zip(entity_keys, zip(*columns), timestamps)]


def _keep_newer_pushed_values(config, feature_view, online_store, batches):
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
            seen.add(row[0].SerializeToString())
            if online_ts is not None and online_values and make_tzaware(online_ts) > make_tzaware(row[2]):
                merged.append((row[0], online_values, online_ts, row[3]))
            else:
                merged.append(row)
        yield merged
    if hasattr(online_store, "online_entity_keys"):
        only_pushed = [k for k in online_store.online_entity_keys(config, feature_view) if k.SerializeToString() not in seen]
        for start in range(0, len(only_pushed), PUBLISH_CHUNK_ROWS):
            keys = only_pushed[start:start + PUBLISH_CHUNK_ROWS]
            yield [(k, values, ts, None) for k, (ts, values) in zip(keys, online_store.online_read(config, feature_view, keys))
                   if ts is not None and values]


def materialize_view(settings: Settings, view_name: str, *, attempts: int | None = None,
                     first_delay: float | None = None, sleep=time.sleep, on_queued=None) -> dict:
    """Publish the latest row per entity of one feature view to the online store, atomically.

    The window covers the whole table, so a re-run writes the same values again (idempotent),
    and a publish is the view's whole state: same-timestamp corrections replace the stored
    values and entities gone from the table are removed. Readers see either all of the previous
    publish or all of this one (`publish_view`, dagster_project/online_store.py): a failure at
    any point - the store unreachable, a connection lost midway, the process killed - applies
    nothing, and the registry's materialization interval only advances after the commit.
    Connection errors (e.g. Redis down) are retried with exponential backoff; after the last
    attempt OnlineStoreUnavailable names the view and the store."""
    attempts = attempts or MATERIALIZE_ATTEMPTS
    delay = MATERIALIZE_FIRST_DELAY if first_delay is None else first_delay
    path = feature_table_path(settings, view_name)
    if feature_table_is_empty(path):
        # nothing to publish (the gate blocks a table that empties after it had rows)
        log.info("published %s: the table is empty, nothing to publish", view_name)
        return {"start": None, "end": None, "rows": 0, "attempts": 0, "entities": 0, "removed": 0, "seconds": 0.0}
    start, end = event_time_range(path)
    store = get_feature_store(settings)
    retryable = _connection_errors()
    for attempt in range(1, attempts + 1):
        try:
            _check_online_store(settings)
            report = publish_view(store, view_name, start - timedelta(seconds=1), end + timedelta(seconds=1),
                                  on_queued=on_queued, memory_limit=settings.duckdb_memory_limit)
            break
        except retryable as exc:
            target = _redacted(settings.redis_url) if settings.online_store == "redis" else settings.online_store
            if attempt == attempts:
                raise OnlineStoreUnavailable(
                    f"materializing feature view {view_name!r} failed: online store {target} unreachable after "
                    f"{attempts} attempts ({exc.__class__.__name__}: {exc}); nothing of this publish was applied, "
                    f"the online store serves the previous publish of the view"
                ) from exc
            log.warning(
                "materializing %s: online store %s unreachable (%s: %s), attempt %d of %d, retrying in %.1fs",
                view_name, target, exc.__class__.__name__, exc, attempt, attempts, delay,
            )
            sleep(delay)
            delay *= 2
    log.info("published %s: %s", view_name, report)
    return {"start": start, "end": end, "rows": pq.ParquetFile(path).metadata.num_rows, "attempts": attempt, **report}
