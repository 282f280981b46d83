"""Publishing a feature view to the online store: the latest row per entity of its feature table
replaces the view's online values in one transaction of the store (see
docs/adr/atomic-online-publish.md), retried with backoff while the store is unreachable."""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.parquet as pq

from dagster_project.feast_ext.feature_tables import event_time_range, feature_table_is_empty, feature_table_path
from dagster_project.feast_ext.repo import get_feature_store
from dagster_project.settings import Settings

log = logging.getLogger(__name__)


class OnlineStoreUnavailable(RuntimeError):
    """The online store could not be written after every retry; nothing of the publish applied."""

    def __init__(self, view_name: str, target: str, attempts: int, cause: BaseException):
        self.view_name, self.target, self.cause = view_name, target, cause
        super().__init__(self.describe(f"after {attempts} attempts"))

    def describe(self, when: str) -> str:
        return (f"materializing feature view {self.view_name!r} failed: online store {self.target} unreachable {when} "
                f"({self.cause.__class__.__name__}: {self.cause}); nothing of this publish was applied, "
                f"the online store serves the previous publish of the view")


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


def publish_view(store, view_name: str, start: datetime, end: datetime, *, chunk_rows: int | None = None,
                 on_queued=None, memory_limit: str | None = None) -> dict:
    """Publish one feature view: the latest row per entity in [start, end] replaces the view's
    online values in ONE transaction of the online store (feast_ext/online_stores.py), then
    the materialization interval is recorded in the registry.

    This replaces `FeatureStore.materialize` for our views so that the whole view goes to one
    write however Feast chunks (`online_write_batch_size`), while the rows are converted and
    sent chunk by chunk (the client never holds the whole view as protobufs). The rows are the
    ones Feast's materialization reads (latest event timestamp per entity, then latest created
    timestamp, within [start, end]): for a Parquet FileSource through one DuckDB query bounded by
    `memory_limit` (`latest_rows`), else through the offline store. A store that takes encoded
    values (Redis) gets each value's `ValueProto` bytes written straight from the Arrow columns
    (dagster_project/feast_ext/proto_encoding.py) instead of one protobuf object per value."""
    from feast.infra.provider import get_provider
    from feast.utils import make_tzaware

    from dagster_project.feast_ext._private import _convert_arrow_to_proto, _get_column_names
    from dagster_project.feast_ext.push import keep_newer_pushed_values

    start, end = make_tzaware(start), make_tzaware(end)  # naive means UTC, as in FeatureStore.materialize
    feature_view = store.get_feature_view(view_name)
    online_store = get_provider(store.config).online_store
    if not hasattr(online_store, "publish"):
        raise TypeError(
            f"online store {type(online_store).__name__} cannot publish a view atomically: "
            "the RepoConfig must name a dagster_project.feast_ext.online_stores store"
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
        batches = list(keep_newer_pushed_values(store.config, feature_view, online_store, batches, PUBLISH_CHUNK_ROWS))
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
    from feast.utils import to_naive_utc

    source = feature_view.batch_source
    if isinstance(source, FileSource) and str(source.path).endswith(".parquet") and "://" not in str(source.path):
        import duckdb

        path = Path(FileSource.get_uri_for_file_path(store.config.repo_path, source.path))
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
        from feast.infra.provider import get_provider

        table = get_provider(store.config).offline_store.pull_latest_from_table_or_query(
            config=store.config, data_source=source, join_key_columns=join_keys,
            feature_name_columns=feature_columns, timestamp_field=timestamp_field,
            created_timestamp_column=created_column, start_date=start, end_date=end,
        ).to_arrow()
    if source.field_mapping:
        # the source's column names to the view's, as Feast's materialization renames them
        table = table.rename_columns([source.field_mapping.get(c, c) for c in table.column_names])
    return table


def _encoded_rows(batch, feature_view, join_key_types: dict) -> list:
    """Rows of one Arrow batch in the publish format (entity key, {feature: value}, event
    timestamp, created timestamp), each value already the bytes of its `ValueProto`; a column of
    a type proto_encoding does not write goes through Feast's conversion of its Python values
    (then serialized): a null timestamp is then an empty Value, a null, where Feast's conversion
    of the Arrow column writes NaT's integer (the read path serves both as null)."""
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
    from feast.type_map import python_values_to_proto_values

    from dagster_project.feast_ext.proto_encoding import encode_column, utc_datetimes

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


def _connection_errors() -> tuple[type[BaseException], ...]:
    import redis

    # builtins (OSError family) and redis-py's own
    return (ConnectionError, TimeoutError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def _check_online_store(settings: Settings) -> None:
    """Fail before writing anything when the online store does not answer."""
    if settings.online_store == "redis":
        import redis

        client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
        try:
            client.ping()
        finally:
            client.close()


def materialize_view(settings: Settings, view_name: str, *, attempts: int | None = None,
                     first_delay: float | None = None, sleep=time.sleep, on_queued=None) -> dict:
    """Publish the latest row per entity of one feature view to the online store, atomically.

    The window covers the whole table, so a re-run writes the same values again (idempotent),
    and a publish is the view's whole state: same-timestamp corrections replace the stored
    values and entities gone from the table are removed. A failure at any point applies nothing,
    and the registry's materialization interval only advances after the commit. Connection
    errors (e.g. Redis down) are retried `attempts` times with exponential backoff from
    `first_delay`; after the last one OnlineStoreUnavailable names the view and the store."""
    import tenacity

    attempts = attempts or MATERIALIZE_ATTEMPTS
    delay = MATERIALIZE_FIRST_DELAY if first_delay is None else first_delay
    path = feature_table_path(settings, view_name)
    if feature_table_is_empty(path):
        # nothing to publish (the gate blocks a table that empties after it had rows)
        log.info("published %s: the table is empty, nothing to publish", view_name)
        return {"start": None, "end": None, "rows": 0, "attempts": 0, "entities": 0, "removed": 0, "seconds": 0.0}
    start, end = event_time_range(path)
    store = get_feature_store(settings)
    target = _redacted(settings.redis_url) if settings.online_store == "redis" else settings.online_store

    def publish() -> dict:
        _check_online_store(settings)
        return publish_view(store, view_name, start - timedelta(seconds=1), end + timedelta(seconds=1),
                            on_queued=on_queued, memory_limit=settings.duckdb_memory_limit)

    def warn(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception()
        log.warning("materializing %s: online store %s unreachable (%s: %s), attempt %d of %d, retrying in %.1fs",
                    view_name, target, exc.__class__.__name__, exc, state.attempt_number, attempts,
                    state.next_action.sleep)

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts), wait=tenacity.wait_exponential(multiplier=delay),
        retry=tenacity.retry_if_exception_type(_connection_errors()), sleep=sleep, before_sleep=warn, reraise=True,
    )
    try:
        report = retrying(publish)
    except _connection_errors() as exc:
        raise OnlineStoreUnavailable(view_name, target, attempts, exc) from exc
    log.info("published %s: %s", view_name, report)
    return {"start": start, "end": end, "rows": pq.ParquetFile(path).metadata.num_rows,
            "attempts": retrying.statistics["attempt_number"], **report}
