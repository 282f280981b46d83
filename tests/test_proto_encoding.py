"""The publish's fast path (dagster_project/feast_ext/proto_encoding.py and feature_store.latest_rows) must
write exactly what Feast's own conversion writes: the same `ValueProto` bytes for every type and
edge case, the same latest row per entity, and - on a real Redis, for every feature view of a
real pipeline run - byte-identical hashes."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

import pyarrow as pa
import pytest
import redis

from dagster_project.feast_ext.feature_tables import FEATURE_VIEWS, event_time_range, feature_table_path
from dagster_project.feast_ext.proto_encoding import encode_column, utc_datetimes, varint
from dagster_project.feast_ext.publish import latest_rows, materialize_view
from dagster_project.feast_ext.repo import apply_feature_repo, get_feature_store
from dagster_project.serving.decode import NULL_TIMESTAMP

from conftest import make_settings, use_settings_env

CASES = {
    "INT64": (pa.int64(), [0, 1, 127, 128, 300, 2**31, 2**63 - 1, -1, -128, -(2**63), None]),
    "INT32": (pa.int32(), [0, 1, 127, 128, 2**31 - 1, -1, -(2**31), None]),
    "DOUBLE": (pa.float64(), [0.0, -0.0, 1.5, -2.25, 1e300, 5e-324, math.inf, -math.inf, math.nan, None]),
    "FLOAT": (pa.float32(), [0.0, 1.5, -2.25, 3.4e38, math.inf, math.nan, None]),
    "STRING": (pa.string(), ["", "a", "electronics", "Größe 10\u201d", "x" * 200, "\U0001f600", None]),
    "BOOL": (pa.bool_(), [True, False, None]),
}


def _feast_bytes(values: list, value_type) -> list[bytes]:
    from feast.type_map import python_values_to_proto_values

    return [v.SerializeToString() for v in python_values_to_proto_values(values, value_type)]


@pytest.mark.parametrize("type_name", sorted(CASES))
def test_encoded_values_are_the_bytes_of_feasts_value_protos(type_name):
    from feast.protos.feast.types.Value_pb2 import Value as ValueProto
    from feast.value_type import ValueType

    arrow_type, values = CASES[type_name]
    value_type = ValueType[type_name]
    array = pa.array(values, arrow_type)
    encoded = encode_column(array, value_type)
    # Feast converts the column as a numpy/python list (what _columns_to_proto_values does)
    expected = _feast_bytes(array.to_pylist(), value_type)
    assert encoded == expected
    assert any(b == b"" for b in encoded), "the cases include a null"
    for raw, value in zip(encoded, array.to_pylist()):
        parsed = ValueProto.FromString(raw)
        if raw:
            assert parsed.WhichOneof("val") is not None
        if value is None or (isinstance(value, float) and math.isnan(value)):
            assert parsed.WhichOneof("val") is None


def test_chunked_and_integer_backed_columns_encode_like_flat_ones():
    from feast.value_type import ValueType

    chunked = pa.chunked_array([pa.array([1, None], pa.int64()), pa.array([3], pa.int64())])
    assert encode_column(chunked, ValueType.INT64) == _feast_bytes([1, None, 3], ValueType.INT64)
    # a Float64 feature whose column came out as integers (dbt sums) is written as doubles
    assert encode_column(pa.array([2, None], pa.int64()), ValueType.DOUBLE) == _feast_bytes([2.0, None], ValueType.DOUBLE)


def test_types_it_does_not_write_are_left_to_feast():
    from feast.value_type import ValueType

    assert encode_column(pa.array([[1, 2]], pa.list_(pa.int64())), ValueType.INT64_LIST) is None
    assert encode_column(pa.array([datetime(2026, 1, 1)]), ValueType.UNIX_TIMESTAMP) is None
    assert encode_column(pa.array(["1"]), ValueType.INT64) is None  # a type mismatch is not guessed


def test_varint_matches_protobuf():
    from google.protobuf.internal.encoder import _VarintBytes

    for n in [0, 1, 127, 128, 255, 300, 16383, 16384, 2**32, 2**63, 2**64 - 1]:
        assert varint(n) == _VarintBytes(n)


def test_event_timestamps_are_aware_utc():
    naive = pa.array([datetime(2026, 10, 1, 12, 30, 15, 250)], pa.timestamp("us"))
    (value,) = utc_datetimes(naive)
    assert value.utcoffset() == timedelta(0) and value.replace(tzinfo=None) == datetime(2026, 10, 1, 12, 30, 15, 250)
    with pytest.raises(ValueError, match="null"):
        utc_datetimes(pa.array([None], pa.timestamp("us")))


@pytest.mark.parametrize("view_name", FEATURE_VIEWS)
def test_latest_rows_equal_feasts_offline_read(pipeline_settings, view_name):
    """The DuckDB read returns the rows of Feast's pull_latest_from_table_or_query, for the whole
    table and for a window that cuts it (boundaries included)."""
    from feast.infra.provider import get_provider

    from dagster_project.feast_ext._private import _get_column_names

    store = get_feature_store(pipeline_settings)
    view = store.get_feature_view(view_name)
    entities = [store.registry.get_entity(name, store.project) for name in view.entities]
    join_keys, features, ts_field, created = _get_column_names(view, entities)
    first, last = event_time_range(feature_table_path(pipeline_settings, view_name))
    middle = first + (last - first) / 2
    for start, end in [(first, last), (first + timedelta(days=3), middle)]:
        ours = latest_rows(store, view, join_keys, features, ts_field, created, start, end, memory_limit="1GB")
        feasts = get_provider(store.config).offline_store.pull_latest_from_table_or_query(
            config=store.config, data_source=view.batch_source, join_key_columns=join_keys,
            feature_name_columns=features, timestamp_field=ts_field, created_timestamp_column=created,
            start_date=start, end_date=end,
        ).to_arrow()
        assert ours.num_rows > 0
        key = [(k, "ascending") for k in join_keys]
        assert ours.sort_by(key).to_pylist() == feasts.select(ours.column_names).sort_by(key).to_pylist()


def _project_hashes(client, project: str) -> dict:
    suffix = project.encode()
    return {k: client.hgetall(k) for k in client.scan_iter(count=5000) if k.endswith(suffix)
            and client.type(k) == b"hash"}


def _differences(encoded: dict, converted: dict, limit: int = 5) -> str:
    """The first differing fields, decoded where they are ValueProtos, with how many keys differ."""
    from feast.protos.feast.types.Value_pb2 import Value

    def shown(raw):
        if raw is None:
            return None
        try:
            return str(Value.FromString(raw)).strip() or repr(raw)
        except Exception:  # a timestamp field or another non-Value payload
            return repr(raw)

    lines, keys = [], sorted(set(encoded) | set(converted))
    differing = [k for k in keys if encoded.get(k) != converted.get(k)]
    for key in differing[:limit]:
        a, b = encoded.get(key) or {}, converted.get(key) or {}
        for field in sorted(set(a) | set(b)):
            if a.get(field) != b.get(field):
                lines.append(f"{key[-60:]!r} field {field!r}: encoded {shown(a.get(field))} != "
                             f"converted {shown(b.get(field))}")
    return f"{len(differing)} of {len(keys)} keys differ:\n" + "\n".join(lines)


def test_encoded_publish_writes_the_hashes_feasts_conversion_writes(pipeline_settings, redis_url, tmp_path, monkeypatch):
    """Every view of the session's pipeline run published to a real Redis twice: through the
    encoded path, then (after deleting the project's keys) through Feast's protobuf conversion;
    every hash, field and byte is the same, but for one intended difference: a null timestamp
    feature is written as a null (an empty Value), where Feast's conversion writes NaT's integer
    (-2**63, which the read path also serves as null)."""
    from feast.protos.feast.types.Value_pb2 import Value

    from dagster_project.feast_ext.online_stores import AtomicRedisOnlineStore

    project = f"enc_{uuid.uuid4().hex[:8]}"
    settings = make_settings(
        pipeline_settings.data_dir, feast_dir=tmp_path / "feast", online_store="redis", redis_url=redis_url,
        feast_project=project, features_dir=pipeline_settings.features_dir,
    )
    use_settings_env(monkeypatch, settings)
    client = redis.Redis.from_url(redis_url)
    try:
        apply_feature_repo(settings)
        for view_name in FEATURE_VIEWS:
            assert materialize_view(settings, view_name)["encoded_values"] is True
        encoded = _project_hashes(client, project)
        client.delete(*encoded, *client.keys(f"rcl_publish_index:{project}:*"))
        monkeypatch.setattr(AtomicRedisOnlineStore, "accepts_encoded_values", False)
        for view_name in FEATURE_VIEWS:
            assert materialize_view(settings, view_name)["encoded_values"] is False
        converted = _project_hashes(client, project)
        assert len(encoded) > 200
        assert sum(len(h) for h in encoded.values()) > 10 * len(encoded)
        nat = Value(unix_timestamp_val=NULL_TIMESTAMP).SerializeToString()
        nulls = sum(v == nat for h in converted.values() for v in h.values())
        converted = {k: {f: b"" if v == nat else v for f, v in h.items()} for k, h in converted.items()}
        assert encoded == converted, _differences(encoded, converted)
        assert nulls > 0  # the session's build has null timestamps (consents never given on a channel)
    finally:
        keys = [k for k in client.scan_iter(count=5000) if k.endswith(project.encode()) or project.encode() in k]
        if keys:
            client.delete(*keys)
