"""Online stores that publish a feature view all at once (SQLite embedded, Redis production):
readers see either all of the previous publish of a view or all of the new one, never a mix.

RepoConfig (dagster_project/feast_ext/repo.py) names these classes as the online store type; they
keep Feast's key and table layout exactly, so every Feast reader reads what they write. Why one
transaction per publish, and what was rejected: docs/adr/atomic-online-publish.md.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Callable, Dict, List, Literal, Optional, Sequence, Tuple

from feast import Entity, FeatureView, RepoConfig, utils
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.infra.online_stores.helpers import compute_table_id, compute_versioned_name, extract_text_and_num
from feast.infra.online_stores.redis import RedisClient, RedisOnlineStore, RedisOnlineStoreConfig, RedisType
from feast.infra.online_stores.sqlite import SqliteOnlineStore, SqliteOnlineStoreConfig
from feast.utils import to_naive_utc
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import field_validator
from redis import Redis
from redis import asyncio as redis_asyncio
from redis.sentinel import Sentinel

from dagster_project.feast_ext._private import _mmh3, _redis_key, _redis_key_prefix

log = logging.getLogger(__name__)

Row = Tuple[EntityKeyProto, Dict[str, ValueProto], datetime, Optional[datetime]]


def _view_name(config: RepoConfig, table: FeatureView) -> str:
    """The view's name in the store's keys (with its version when versioning is on), as Feast names it."""
    return compute_versioned_name(table, config.registry.enable_online_feature_view_versioning)


def _sqlite_table(config: RepoConfig, table: FeatureView) -> str:
    """The view's SQLite table name, as Feast's SQLite store names it."""
    return compute_table_id(config.project, table, config.registry.enable_online_feature_view_versioning)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class PublishConflict(RuntimeError):
    """Another publish of the same feature view committed while this one was being written; this
    one was discarded as a whole (the store holds the other publish)."""


def _timestamp_bytes(value: datetime) -> Tuple[bytes, int]:
    ts = Timestamp()
    ts.FromDatetime(utils.make_tzaware(value))
    return ts.SerializeToString(), ts.seconds * 1_000_000_000 + ts.nanos


# ------------------------------------------------------------------------------------- Redis


def _hset_commands(rows: Sequence[Row], view_name: str, project: str, version: int, features: Dict[str, bytes],
                   ts_field: bytes, ttl: Optional[int], published: set, ts_cache: Dict[datetime, bytes]) -> List[tuple]:
    """The HSET (and EXPIRE) commands of one chunk of a publish, in Feast's key layout; adds the
    chunk's keys to `published` (an entity twice in one publish is an error)."""
    commands: List[tuple] = []
    for entity_key, values, timestamp, _ in rows:
        key = _redis_key(project, entity_key, entity_key_serialization_version=version)
        if key in published:
            raise ValueError(f"feature view {view_name!r}: entity {entity_key} appears twice in one publish")
        published.add(key)
        ts_bytes = ts_cache.get(timestamp)
        if ts_bytes is None:  # feature rows share timestamps (one per day): encode each once
            ts_bytes = ts_cache[timestamp] = _timestamp_bytes(timestamp)[0]
        args: List[Any] = ["HSET", key, ts_field, ts_bytes]
        for name, value in values.items():
            # already the ValueProto's bytes (publish_view's encoded path) or a ValueProto
            args += [features[name], value if isinstance(value, bytes) else value.SerializeToString()]
        commands.append(tuple(args))
        if ttl:
            commands.append(("EXPIRE", key, ttl))
    return commands


class _TransactionalRedis(Redis):
    """A redis-py client whose pipelines are always MULTI/EXEC transactions, whatever the caller
    asks: Feast's read and write paths build `pipeline(transaction=False)`; through this client
    each of their pipelines applies (writes) or observes (reads) as one step."""

    def pipeline(self, transaction=True, shard_hint=None):
        return super().pipeline(transaction=True, shard_hint=shard_hint)


class _TransactionalAsyncRedis(redis_asyncio.Redis):
    def pipeline(self, transaction=True, shard_hint=None):
        return super().pipeline(transaction=True, shard_hint=shard_hint)


class AtomicRedisOnlineStoreConfig(RedisOnlineStoreConfig):
    """Feast's Redis online store configuration (same keys), for AtomicRedisOnlineStore."""

    type: Literal["dagster_project.feast_ext.online_stores.AtomicRedisOnlineStore"] = (
        "dagster_project.feast_ext.online_stores.AtomicRedisOnlineStore"
    )

    @field_validator("redis_type")
    @classmethod
    def _no_cluster(cls, value):
        if value == RedisType.redis_cluster:
            raise ValueError(
                "AtomicRedisOnlineStore publishes a view in one MULTI/EXEC, which cannot span the "
                "hash slots of a Redis Cluster: use redis_type redis or redis_sentinel"
            )
        return value

    @field_validator("client")
    @classmethod
    def _no_glide(cls, value):
        if value == RedisClient.glide:
            raise ValueError("AtomicRedisOnlineStore reads in transactions, which client: glide does not do")
        return value


@lru_cache(maxsize=4096)
def _read_fields(fv_name: str, names: Tuple[str, ...]) -> List[bytes | str]:
    """The HMGET fields of `names` (features, then the view's timestamp field), as Feast names them."""
    return [_mmh3(f"{fv_name}:{n}") for n in names[:-1]] + [names[-1]]


def _read_key(project: str, entity_key: EntityKeyProto, version: int) -> bytes:
    """The entity's hash key, as Feast builds it, kept for hot entities (a shop's products, active
    customers) by the key proto's bytes (a proto of a fixed join key order serializes the same way
    each time); bounded: forgotten all at once when full."""
    cache_key = (project, version, entity_key.SerializeToString(deterministic=True))
    key = _read_keys.get(cache_key)
    if key is None:
        key = _redis_key(project, entity_key, entity_key_serialization_version=version)
        if len(_read_keys) >= 65_536:
            _read_keys.clear()
        _read_keys[cache_key] = key
    return key


_read_keys: Dict[tuple, bytes] = {}


class AtomicRedisOnlineStore(RedisOnlineStore):
    """Feast's Redis store, with a publish of a whole view in one MULTI/EXEC, transactional
    reads and writes, and same-timestamp corrections applied (see the module docstring)."""

    # publish() takes values that are already ValueProto bytes (publish_view's fast path)
    accepts_encoded_values = True

    # ---- clients: every pipeline is a transaction

    def _get_client(self, online_store_config: RedisOnlineStoreConfig):
        if not self._client:
            startup_nodes, kwargs = self._parse_connection_string(online_store_config.connection_string)
            if online_store_config.redis_type == RedisType.redis_sentinel:
                sentinel = Sentinel([(n["host"], int(n["port"])) for n in startup_nodes], **kwargs)
                self._client = sentinel.master_for(online_store_config.sentinel_master, redis_class=_TransactionalRedis)
            else:
                self._client = _TransactionalRedis(host=startup_nodes[0]["host"], port=startup_nodes[0]["port"], **kwargs)
        return self._client

    async def _get_client_async(self, online_store_config: RedisOnlineStoreConfig):
        if not self._client_async:
            startup_nodes, kwargs = self._parse_connection_string(online_store_config.connection_string)
            if online_store_config.redis_type == RedisType.redis_sentinel:
                sentinel = redis_asyncio.Sentinel([(n["host"], int(n["port"])) for n in startup_nodes], **kwargs)
                self._client_async = sentinel.master_for(
                    online_store_config.sentinel_master, redis_class=_TransactionalAsyncRedis
                )
            else:
                self._client_async = _TransactionalAsyncRedis(
                    host=startup_nodes[0]["host"], port=startup_nodes[0]["port"], **kwargs
                )
        return self._client_async

    # ---- key layout (Feast's) and the view's entity index (ours)

    @staticmethod
    def index_key(config: RepoConfig, table: FeatureView) -> bytes:
        """The set of the entity keys of the view's last publish."""
        return f"rcl_publish_index:{config.project}:{_view_name(config, table)}".encode()

    @staticmethod
    def _field_names(config: RepoConfig, table: FeatureView) -> Tuple[Dict[str, bytes], bytes]:
        fv_name = _view_name(config, table)
        return {f.name: _mmh3(f"{fv_name}:{f.name}") for f in table.features}, f"_ts:{fv_name}".encode()

    def _scan_view_keys(self, config: RepoConfig, table: FeatureView, ts_field: bytes) -> set[bytes]:
        """Entity keys that hold this view's values, found by a SCAN (only when there is no index:
        the first publish through this store)."""
        client = self._get_client(config.online_store)
        pattern = b"".join([_redis_key_prefix(table.join_keys), b"*", config.project.encode("utf8")])
        keys = list(client.scan_iter(match=pattern, count=1000))
        if not keys:
            return set()
        with client.pipeline() as pipe:
            for key in keys:
                pipe.hexists(key, ts_field)
            present = pipe.execute()
        return {k for k, has in zip(keys, present) if has}

    # ---- publish: the whole view in one transaction

    def publish(
        self,
        config: RepoConfig,
        table: FeatureView,
        batches: Iterable[Sequence[Row]],
        on_queued: Optional[Callable[[int], Any]] = None,
    ) -> dict:
        """Replace the view's online values by `batches` (the latest row of every entity, in
        chunks) in one MULTI/EXEC. Returns counts; raises (and applies nothing) on any error."""
        online_store_config = config.online_store
        assert isinstance(online_store_config, RedisOnlineStoreConfig)
        client = self._get_client(online_store_config)
        features, ts_field = self._field_names(config, table)
        view_fields = [*features.values(), ts_field]
        index_key = self.index_key(config, table)
        ttl = online_store_config.key_ttl_seconds
        version = config.entity_key_serialization_version
        project = config.project

        pool = client.connection_pool
        conn = pool.get_connection()
        started = time.monotonic()
        try:
            def command(*args):
                conn.send_command(*args)
                return conn.read_response()

            def queue(commands: List[tuple]) -> None:
                if not commands:
                    return
                conn.send_packed_command(conn.pack_commands(commands))
                for _ in commands:
                    reply = conn.read_response()
                    if reply not in (b"QUEUED", "QUEUED"):
                        raise RuntimeError(f"Redis did not queue a publish command: {reply!r}")

            command("WATCH", index_key)
            if command("EXISTS", index_key):
                previous = set(command("SMEMBERS", index_key))
            else:
                previous = self._scan_view_keys(config, table, ts_field)
            command("MULTI")
            published: set[bytes] = set()
            ts_cache: Dict[datetime, bytes] = {}
            queued = 0
            for rows in batches:
                queue(_hset_commands(rows, table.name, project, version, features, ts_field, ttl, published, ts_cache))
                queued += len(rows)
                if on_queued:
                    on_queued(queued)
            removed = sorted(previous - published)
            queue([("HDEL", key, *view_fields) for key in removed])
            index = sorted(published)
            queue([("DEL", index_key)] + [("SADD", index_key, *index[i:i + 10_000]) for i in range(0, len(index), 10_000)])
            queued_seconds = time.monotonic() - started
            exec_started = time.monotonic()
            result = command("EXEC")
            if result is None:
                raise PublishConflict(
                    f"feature view {table.name!r}: another publish of the view committed meanwhile; this one was discarded"
                )
            for reply in result:
                if isinstance(reply, Exception):
                    raise reply  # pragma: no cover - type errors on a key of another kind
        except BaseException:
            # Closing the connection makes the server discard the queued transaction (and the WATCH).
            conn.disconnect()
            raise
        finally:
            pool.release(conn)
        return {
            "entities": len(published),
            "removed": len(removed),
            "queue_seconds": round(queued_seconds, 3),
            "exec_seconds": round(time.monotonic() - exec_started, 3),
        }

    # ---- reads: an entity without this view's values is not found

    def _get_features_for_entity(self, values, feature_view, requested_features):
        """Feast's conversion of one HMGET reply, except that a hash without the view's timestamp
        field (an unknown entity, or one that only other views hold) reads as not found
        (None, None), as on SQLite. Feast's own version answers empty values stamped 1970-01-01,
        which its readers report as PRESENT. Overriding this one conversion covers every Redis
        read path (online_read, the SDK's batched read, their async variants). Private name of
        Feast's RedisOnlineStore: tests/test_serving_semantics.py fails if an upgrade changes it."""
        if values[requested_features.index(f"_ts:{feature_view}")] is None:
            return None, None
        return super()._get_features_for_entity(values, feature_view, requested_features)

    def online_read_many(
        self,
        config: RepoConfig,
        reads: Sequence[Tuple[FeatureView, List[EntityKeyProto], Optional[List[str]]]],
        raw: bool = False,
    ) -> List[list]:
        """`online_read` of several views in ONE MULTI/EXEC: one round trip for a request that spans
        views (a feature service), and one snapshot, so it never straddles a publish of one of them.
        Returns one `online_read` result per (view, entity keys, features) given; with `raw`, the
        HMGET replies instead (per entity: the features' `ValueProto` bytes in the order asked,
        then the view's `Timestamp` bytes; None where the hash has no such field), for a reader
        that decodes them itself."""
        client = self._get_client(config.online_store)
        version = config.entity_key_serialization_version
        plans = []
        with client.pipeline() as pipe:
            for table, entity_keys, requested in reads:
                fv_name = _view_name(config, table)
                names = (*(requested or [f.name for f in table.features]), f"_ts:{fv_name}")
                fields = _read_fields(fv_name, names)  # hashed once per (view, features), not per read
                for entity_key in entity_keys:
                    pipe.hmget(_read_key(config.project, entity_key, version), fields)
                plans.append((fv_name, names, len(entity_keys)))
            replies = pipe.execute()
        results, start = [], 0
        for fv_name, names, count in plans:
            view_replies = replies[start:start + count]
            results.append(view_replies if raw else
                           [self._get_features_for_entity(values, fv_name, list(names)) for values in view_replies])
            start += count
        return results

    # ---- Feast's write path (push, `feast materialize`): one transaction per call

    def online_write_batch(
        self,
        config: RepoConfig,
        table: FeatureView,
        data: List[Row],
        progress: Optional[Callable[[int], Any]],
    ) -> None:
        """All rows of the call in one MULTI/EXEC. A row older than the stored value is skipped
        (out-of-order pushes), one with the same event time replaces it (a correction)."""
        client = self._get_client(config.online_store)
        features, ts_field = self._field_names(config, table)
        ttl = config.online_store.key_ttl_seconds
        keys = [_redis_key(config.project, row[0], entity_key_serialization_version=config.entity_key_serialization_version)
                for row in data]
        with client.pipeline() as pipe:
            for key in keys:
                pipe.hget(key, ts_field)
            stored = pipe.execute()
        latest: Dict[bytes, int] = {}
        for key, previous in zip(keys, stored):
            if previous:
                ts = Timestamp()
                ts.ParseFromString(previous)
                latest[key] = ts.seconds * 1_000_000_000 + ts.nanos
        with client.pipeline() as pipe:
            for key, (_, values, timestamp, _) in zip(keys, data):
                ts_bytes, nanos = _timestamp_bytes(timestamp)
                if nanos < latest.get(key, 0):
                    continue
                latest[key] = nanos
                mapping = {ts_field: ts_bytes, **{features[n]: v.SerializeToString() for n, v in values.items()}}
                pipe.hset(key, mapping=mapping)
                if ttl:
                    pipe.expire(key, ttl)
            pipe.execute()
        if progress:
            progress(len(data))

    async def online_write_batch_async(self, config, table, data, progress) -> None:
        """The same semantics as online_write_batch (written synchronously: pushes are small)."""
        self.online_write_batch(config, table, data, progress)

    # ---- removal: also forget the index

    def delete_table(self, config: RepoConfig, table: FeatureView):
        super().delete_table(config, table)
        self._get_client(config.online_store).delete(self.index_key(config, table))

    def teardown(self, config: RepoConfig, tables: Sequence[FeatureView], entities: Sequence[Entity]):
        super().teardown(config, tables, entities)
        if tables:
            self._get_client(config.online_store).delete(*(self.index_key(config, t) for t in tables))


# ------------------------------------------------------------------------------------ SQLite


class AtomicSqliteOnlineStoreConfig(SqliteOnlineStoreConfig):
    """Feast's SQLite online store configuration (same keys), for AtomicSqliteOnlineStore."""

    type: Literal["dagster_project.feast_ext.online_stores.AtomicSqliteOnlineStore"] = (
        "dagster_project.feast_ext.online_stores.AtomicSqliteOnlineStore"
    )


class AtomicSqliteOnlineStore(SqliteOnlineStore):
    """Feast's SQLite store (WAL mode), with a publish of a whole view in one transaction."""

    def _get_conn(self, config: RepoConfig):
        if not self._conn:
            conn = super()._get_conn(config)
            # Readers keep their snapshot (the previous publish) while a publish is written and
            # are never blocked by it. The mode is a property of the file: set once, kept.
            try:
                conn.execute("PRAGMA journal_mode=WAL")
            except Exception as exc:  # e.g. a read-only copy: readers still work without it
                log.warning("could not switch the SQLite online store to WAL mode: %s", exc)
        return self._conn

    def online_entity_keys(self, config: RepoConfig, table: FeatureView) -> List[EntityKeyProto]:
        """Every entity the view holds online (for keeping pushed-only entities across a publish)."""
        from feast.infra.key_encoding_utils import deserialize_entity_key

        conn = self._get_conn(config)
        table_name = _quote(_sqlite_table(config, table))
        try:
            keys = [r[0] for r in conn.execute(f"SELECT DISTINCT entity_key FROM {table_name}")]
        except Exception:  # no table yet: nothing online
            return []
        return [deserialize_entity_key(k, entity_key_serialization_version=config.entity_key_serialization_version)
                for k in keys]

    def publish(
        self,
        config: RepoConfig,
        table: FeatureView,
        batches: Iterable[Sequence[Row]],
        on_queued: Optional[Callable[[int], Any]] = None,
    ) -> dict:
        """Replace the view's rows by `batches` in one transaction. Returns counts; raises (and
        commits nothing) on any error."""
        if config.online_store.vector_enabled:
            raise NotImplementedError("AtomicSqliteOnlineStore.publish does not write vector columns")
        conn = self._get_conn(config)
        table_name = _quote(_sqlite_table(config, table))
        # the column set Feast's SQLite store writes (value_num only when the table has it)
        with_num = bool(getattr(config.online_store, "enable_openai_compatible_store", False)) and \
            self._check_table_has_value_num(conn, _sqlite_table(config, table))
        columns = ["entity_key", "feature_name", "value", "value_text"] + (["value_num"] if with_num else []) + ["event_ts", "created_ts"]
        insert = f"INSERT INTO {table_name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        started = time.monotonic()
        if conn.in_transaction:
            conn.commit()
        conn.execute("BEGIN IMMEDIATE")  # the write lock now, not at the first INSERT
        try:
            previous = {r[0] for r in conn.execute(f"SELECT DISTINCT entity_key FROM {table_name}")}
            conn.execute(f"DELETE FROM {table_name}")
            published: set[bytes] = set()
            for rows in batches:
                params = []
                for entity_key, values, timestamp, created in rows:
                    key = serialize_entity_key(entity_key, entity_key_serialization_version=config.entity_key_serialization_version)
                    if key in published:
                        raise ValueError(f"feature view {table.name!r}: entity {entity_key} appears twice in one publish")
                    published.add(key)
                    event_ts = to_naive_utc(timestamp)
                    created_ts = to_naive_utc(created) if created is not None else None
                    for name, value in values.items():
                        text, num = extract_text_and_num(value, with_num)
                        params.append((key, name, value.SerializeToString(), text, *((num,) if with_num else ()), event_ts, created_ts))
                conn.executemany(insert, params)
                if on_queued:
                    on_queued(len(published))
            commit_started = time.monotonic()
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        commit_seconds = time.monotonic() - commit_started
        try:  # fold the WAL back into the database file (best effort: a reader may hold it)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except Exception as exc:  # pragma: no cover
            log.warning("WAL checkpoint after publishing %s failed: %s", table.name, exc)
        return {
            "entities": len(published),
            "removed": len(previous - published),
            "queue_seconds": round(commit_started - started, 3),
            "exec_seconds": round(commit_seconds, 3),
        }
