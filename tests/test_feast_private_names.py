"""The private Feast names the project depends on (dagster_project/feast_ext/_private.py): each
one still exists after a Feast upgrade and still behaves as the atomic stores and the publish
assume, and no other module of dagster_project imports a private Feast name."""

from __future__ import annotations

import ast
import importlib
import inspect
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from dagster_project.settings import REPO_ROOT

# name -> (Feast module, what breaks without it)
PRIVATE_NAMES = {
    "_mmh3": ("feast.infra.online_stores.helpers",
              "the Redis hash field of each feature: the atomic Redis store writes fields Feast's readers look up"),
    "_redis_key": ("feast.infra.online_stores.helpers",
                   "the Redis key of an entity: the atomic Redis store writes keys Feast's readers look up"),
    "_redis_key_prefix": ("feast.infra.online_stores.helpers",
                          "the prefix of a view's Redis keys: the first publish finds the view's entities by a SCAN"),
    "_get_column_names": ("feast.utils", "the source columns a publish reads (join keys, features, timestamps)"),
    "_convert_arrow_to_proto": ("feast.utils",
                                "the conversion of rows the fast encoder does not write (field mappings, ValueProto stores)"),
}
# Feast class -> private members the atomic online stores override or call
PRIVATE_MEMBERS = {
    ("feast.infra.online_stores.redis", "RedisOnlineStore"): (
        "_get_client", "_get_client_async", "_parse_connection_string", "_client", "_client_async",
        "_get_features_for_entity"),
    ("feast.infra.online_stores.sqlite", "SqliteOnlineStore"): ("_get_conn", "_conn", "_check_table_has_value_num"),
}


def _feast_name(name: str):
    module, why = PRIVATE_NAMES[name]
    value = getattr(importlib.import_module(module), name, None)
    if value is None:
        pytest.fail(f"Feast no longer has {module}.{name}, which the project needs for {why}: "
                    "adapt dagster_project/feast_ext before upgrading Feast")
    return value


@pytest.mark.parametrize("name", sorted(PRIVATE_NAMES))
def test_every_private_name_still_exists(name):
    _feast_name(name)


def test_the_seam_imports_exactly_these_names():
    import dagster_project.feast_ext._private as private

    assert {n for n in private.__all__ if n.startswith("_")} == set(PRIVATE_NAMES)
    for name in PRIVATE_NAMES:
        assert getattr(private, name) is _feast_name(name)
    for (module, cls), members in PRIVATE_MEMBERS.items():
        assert set(members) == set(private.REDIS_STORE_MEMBERS if cls.startswith("Redis") else private.SQLITE_STORE_MEMBERS)


@pytest.mark.parametrize("owner", sorted(PRIVATE_MEMBERS), ids=lambda o: o[1])
def test_the_online_store_members_the_atomic_stores_override_still_exist(owner):
    module, cls = owner
    instance = getattr(importlib.import_module(module), cls)()
    missing = [m for m in PRIVATE_MEMBERS[owner] if not hasattr(instance, m)]
    assert not missing, (f"Feast's {cls} no longer has {missing}: dagster_project/feast_ext/online_stores.py "
                         "overrides or calls them (transactional clients, WAL mode, value_num check)")


def _entity_key(customer_id: str):
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    return EntityKey(join_keys=["customer_id"], entity_values=[Value(string_val=customer_id)])


def test_mmh3_field_names_are_unchanged():
    mmh3 = _feast_name("_mmh3")
    # the field of customer_features:orders_lifetime in every Redis our stores (and Feast 0.67) wrote
    assert mmh3("customer_features:orders_lifetime") == bytes.fromhex("d7c258b5"), (
        "Feast's _mmh3 field names changed: values published before the upgrade are unreadable after it")


def test_redis_key_layout_is_the_serialized_entity_key_then_the_project():
    from feast.infra.key_encoding_utils import serialize_entity_key

    redis_key, prefix = _feast_name("_redis_key"), _feast_name("_redis_key_prefix")
    params = list(inspect.signature(redis_key).parameters)
    assert params[:2] == ["project", "entity_key"] and "entity_key_serialization_version" in params, params
    key = _entity_key("cus_1")
    got = redis_key("retail_context", key, entity_key_serialization_version=3)
    assert got == serialize_entity_key(key, entity_key_serialization_version=3) + b"retail_context", (
        "Feast's Redis key layout changed: the atomic store's keys and SCAN pattern must follow it")
    assert got.startswith(prefix(["customer_id"])), "a view's keys no longer start with _redis_key_prefix(join_keys)"


def _view(field_mapping=None):
    from feast import Entity, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64, Int64

    customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.STRING)
    source = FileSource(name="s", path="t.parquet", timestamp_field="ts", field_mapping=field_mapping or {})
    view = FeatureView(name="v", entities=[customer], schema=[Field(name="orders", dtype=Int64),
                                                              Field(name="revenue", dtype=Float64)], source=source)
    return view, customer


def test_get_column_names_returns_the_source_columns():
    get_column_names = _feast_name("_get_column_names")
    view, customer = _view(field_mapping={"orders_src": "orders"})
    join_keys, features, timestamp, created = get_column_names(view, [customer])
    assert join_keys == ["customer_id"] and sorted(features) == ["orders_src", "revenue"]
    assert (timestamp, created) == ("ts", "")  # no created-timestamp column: empty, tested for truth


def test_convert_arrow_to_proto_gives_feasts_online_rows():
    import pyarrow as pa
    from feast.value_type import ValueType

    convert = _feast_name("_convert_arrow_to_proto")
    view, _ = _view()
    ts = datetime(2026, 1, 2, tzinfo=timezone.utc)
    table = pa.table({"customer_id": ["cus_1"], "orders": [3], "revenue": [9.5],
                      "ts": pa.array([ts], pa.timestamp("us", tz="UTC"))})
    ((key, values, event_ts, created),) = convert(table, view, {"customer_id": ValueType.STRING})
    assert key == _entity_key("cus_1")
    assert values["orders"].int64_val == 3 and values["revenue"].double_val == 9.5
    assert abs(event_ts.replace(tzinfo=timezone.utc) - ts) < timedelta(seconds=1) and created is None


def _private_feast_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "feast":
            private_module = any(part.startswith("_") for part in node.module.split("."))
            names = [a.name for a in node.names if a.name.startswith("_")]
            if private_module or names:
                found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: from {node.module} import "
                             f"{', '.join(a.name for a in node.names)}")
        elif isinstance(node, ast.Import):
            found += [f"{path.relative_to(REPO_ROOT)}:{node.lineno}: import {a.name}" for a in node.names
                      if a.name.split(".")[0] == "feast" and any(p.startswith("_") for p in a.name.split("."))]
        elif isinstance(node, ast.Attribute) and node.attr in ("_get_provider", "_get_repo_contents"):
            found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: .{node.attr}")
    return found


def test_no_other_module_imports_a_private_feast_name():
    seam = REPO_ROOT / "dagster_project" / "feast_ext" / "_private.py"
    offenders = [hit for path in sorted((REPO_ROOT / "dagster_project").rglob("*.py")) if path != seam
                 for hit in _private_feast_imports(path)]
    assert not offenders, ("private Feast names imported outside dagster_project/feast_ext/_private.py "
                           "(import them there, with the reason, and cover them in this test):\n" + "\n".join(offenders))


def test_the_scan_finds_a_private_import():
    """The scan above is able to fail."""
    sample = REPO_ROOT / "dagster_project" / "feast_ext" / "_private.py"
    assert _private_feast_imports(sample), "the scan no longer recognises `from feast... import _name`"
