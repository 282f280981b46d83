"""Deleting one person from the online store, SQLite or Redis: the entity keys of every entity whose
join key is one of the person's identifiers (their customer ids, their orders) in every view,
pushed values included (a push writes the same keys), and, as a net, any entity whose key or
stored values contain one of their ids."""

from __future__ import annotations

import sqlite3
import time

from dagster_project.privacy.columns import column_kind
from dagster_project.privacy.person import Person
from dagster_project.settings import Settings

# Ids shorter than this are not searched inside keys and values (too likely to occur by chance).
MIN_TOKEN_BYTES = 8


def join_keys(settings: Settings) -> set[str]:
    """The join keys of the feature repo's entities and of those in the deployment's registry."""
    from feast import Entity

    from dagster_project.feast_ext.repo import feature_repo_modules, get_feature_store

    keys = {value.join_key for module in feature_repo_modules() for value in vars(module).values()
            if isinstance(value, Entity)}
    if (settings.feast_dir / "registry.db").exists():
        store = get_feature_store(settings)
        try:
            keys |= {entity.join_key for entity in store.registry.list_entities(store.project)}
        except Exception:  # noqa: BLE001 - a registry without this project: the repo's entities
            pass
    return keys


def entity_keys(settings: Settings, person: Person) -> list:
    """EntityKey protos of the person: every entity whose join key is an identifier kind."""
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
    from feast.protos.feast.types.Value_pb2 import Value as ValueProto

    keys = []
    for join_key in sorted(join_keys(settings)):
        kind = column_kind(join_key)
        for value in sorted(person.values(kind)) if kind else ():
            keys.append(EntityKeyProto(join_keys=[join_key], entity_values=[ValueProto(string_val=value)]))
    return keys


def _tokens(person: Person) -> list[bytes]:
    return sorted(t.encode() for t in person.tokens(min_length=MIN_TOKEN_BYTES))


def scrub_sqlite(settings: Settings, person: Person) -> dict[str, int]:
    """Delete the person's entities from every table of the SQLite online store; view table -> entities."""
    from feast.infra.key_encoding_utils import serialize_entity_key

    path = settings.feast_dir / "online_store.db"
    if not path.exists():
        return {}
    keys = [serialize_entity_key(k, entity_key_serialization_version=3) for k in entity_keys(settings, person)]
    tokens = _tokens(person)
    deleted = {}
    conn = sqlite3.connect(str(path), timeout=30)
    try:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            columns = {r[1] for r in conn.execute(f"pragma table_info({_quote(table)})")}
            if "entity_key" in columns:
                n = _delete_entities(conn, table, keys, tokens, with_values="value" in columns)
                if n:
                    deleted[table] = n
        conn.commit()
        if deleted:
            conn.execute("vacuum")  # deleted rows must not stay in free pages of the file
        _truncate_wal(conn)
    finally:
        conn.close()
    return deleted


def _truncate_wal(conn, attempts: int = 20) -> None:
    """Fold the write-ahead log into the file and empty it (its frames hold the deleted pages);
    a reader that holds an old snapshot delays it (retried), verify() reports a WAL left over."""
    for _ in range(attempts):
        busy = conn.execute("pragma wal_checkpoint(truncate)").fetchone()[0]
        if not busy:
            return
        time.sleep(0.5)


def _delete_entities(conn, table: str, keys: list[bytes], tokens: list[bytes], *, with_values: bool) -> int:
    name = _quote(table)
    conn.execute("create temp table if not exists forget_keys (k blob primary key)")
    conn.execute("delete from forget_keys")
    conn.executemany("insert or ignore into forget_keys values (?)", [(k,) for k in keys])
    for token in tokens:  # the net: an entity whose key or values hold one of the person's ids
        where = "instr(entity_key, ?) > 0" + (" or instr(value, ?) > 0" if with_values else "")
        conn.execute(f"insert or ignore into forget_keys select distinct entity_key from {name} where {where}",
                     (token, token) if with_values else (token,))
    entities = conn.execute(f"select count(distinct entity_key) from {name} where entity_key in (select k from forget_keys)").fetchone()[0]
    conn.execute(f"delete from {name} where entity_key in (select k from forget_keys)")
    return entities


def count_online(settings: Settings, person: Person) -> dict[str, int]:
    """The person's entities still in the online store (SQLite tables, Redis keys); for verifying."""
    from feast.infra.key_encoding_utils import serialize_entity_key

    from dagster_project.feast_ext._private import _redis_key

    protos = entity_keys(settings, person)
    found = {}
    path = settings.feast_dir / "online_store.db"
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size:
        found["sqlite:write-ahead log not emptied (a reader holds it)"] = wal.stat().st_size
    if path.exists():
        keys = [serialize_entity_key(k, entity_key_serialization_version=3) for k in protos]
        conn = sqlite3.connect(str(path), timeout=30)
        try:
            for (table,) in conn.execute("select name from sqlite_master where type = 'table'").fetchall():
                if "entity_key" in {r[1] for r in conn.execute(f"pragma table_info({_quote(table)})")} and keys:
                    n = conn.execute(f"select count(*) from {_quote(table)} where entity_key in "
                                     f"({', '.join('?' * len(keys))})", keys).fetchone()[0]
                    if n:
                        found[f"sqlite:{table}"] = n
        finally:
            conn.close()
    if settings.online_store == "redis" and protos:
        import redis

        client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=5)
        try:
            n = client.exists(*(_redis_key(settings.feast_project, k, entity_key_serialization_version=3) for k in protos))
        finally:
            client.close()
        if n:
            found["redis:entity_keys"] = n
    return found


def scrub_redis(settings: Settings, person: Person) -> dict[str, int]:
    """Delete the person's entity hashes (every view's values and pushes live in them) and take
    them out of the views' publish indexes; {"entity_keys": n, "index_entries": m}."""
    import redis

    from dagster_project.feast_ext._private import _redis_key

    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=30)
    try:
        project = settings.feast_project
        keys = {_redis_key(project, k, entity_key_serialization_version=3) for k in entity_keys(settings, person)}
        tokens = _tokens(person)
        suffix = project.encode()
        for key in client.scan_iter(match=b"*" + _glob_escape(suffix), count=1000):
            if key.endswith(suffix) and any(t in key for t in tokens):
                keys.add(key)
        keys = sorted(keys)
        removed_from_index = 0
        for index in client.scan_iter(match=f"rcl_publish_index:{_glob_escape(project.encode()).decode()}:*", count=1000):
            if keys:
                removed_from_index += client.srem(index, *keys)
        deleted = client.delete(*keys) if keys else 0
    finally:
        client.close()
    return {"entity_keys": deleted, "index_entries": removed_from_index}


def _glob_escape(value: bytes) -> bytes:
    out = bytearray()
    for byte in value:
        if bytes([byte]) in (b"*", b"?", b"[", b"]", b"\\"):
            out += b"\\"
        out.append(byte)
    return bytes(out)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
