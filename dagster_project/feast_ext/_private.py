"""The private Feast names the extensions still need, imported here and nowhere else.

Each one is a deliberate dependency on Feast internals that has no public equivalent;
tests/test_feast_private_names.py fails with the name and the reason when a Feast upgrade removes
or changes one. Everything else in dagster_project/feast_ext uses Feast's public API.
"""

from __future__ import annotations

# Redis key layout. The atomic Redis store writes keys and hash fields that Feast's own readers
# (SDK, feature server) must find, so it has to build them with Feast's functions, not a copy of
# them: `_redis_key` is the entity's hash key (serialized entity key + project), `_redis_key_prefix`
# the prefix every key of a set of join keys starts with (to SCAN a view's entities), `_mmh3` the
# 4-byte field name of one feature (`<view>:<feature>`).
from feast.infra.online_stores.helpers import _mmh3, _redis_key, _redis_key_prefix

# A publish reads the columns Feast's materialization reads: join keys, features, event and
# created timestamp as named in the source (field mapping reversed). Reimplementing the mapping
# would drift from what Feast's materialize and offline store read.
from feast.utils import _get_column_names

# Rows of a view whose values the fast encoder does not write (a field mapping, a store that
# takes ValueProtos) are converted to Feast's online rows exactly as `FeatureStore.materialize`
# converts them.
from feast.utils import _convert_arrow_to_proto

# Private members of Feast's online store classes that the atomic stores override or call (not
# importable names: checked by the same test). Redis: the client factories are overridden to
# hand out transactional clients, built from Feast's own connection-string parser; the cached
# clients live in `_client`/`_client_async`; `_get_features_for_entity` (the conversion of one
# HMGET reply) is overridden so that an entity without the view's values reads as not found. SQLite: the connection factory is extended to switch
# to WAL mode (cached in `_conn`), and the value_num check decides which columns a publish writes.
REDIS_STORE_MEMBERS = (
    "_get_client", "_get_client_async", "_parse_connection_string", "_client", "_client_async",
    "_get_features_for_entity",
)
SQLITE_STORE_MEMBERS = ("_get_conn", "_conn", "_check_table_has_value_num")

__all__ = [
    "REDIS_STORE_MEMBERS",
    "SQLITE_STORE_MEMBERS",
    "_convert_arrow_to_proto",
    "_get_column_names",
    "_mmh3",
    "_redis_key",
    "_redis_key_prefix",
]
