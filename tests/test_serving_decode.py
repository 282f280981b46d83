"""The read path's decoding of stored values (dagster_project/serving/decode.py) must give what
protobuf and Feast's Redis reader give: the same value for every `ValueProto` type and edge case
(scalars read from the wire format, the rest through protobuf), the same event time; and on a real
Redis the read path's raw-reply path must answer exactly what its `online_read` path answers."""

from __future__ import annotations

import math
import random
import struct
from datetime import datetime, timedelta, timezone

import pytest
from feast.infra.online_stores.redis import RedisOnlineStore
from feast.protos.feast.types.Value_pb2 import BoolList, BytesList, DoubleList, FloatList, Int32List, Int64List
from feast.protos.feast.types.Value_pb2 import Null, StringList
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from google.protobuf.timestamp_pb2 import Timestamp

from conftest import REQUIRE_SERVICES, SERVICE_REDIS_URL, _redis_available
from dagster_project.serving import decode
from dagster_project.serving.decode import decode_value, event_time, native

SCALARS = {
    "int64_val": [0, 1, 127, 128, 300, 16_383, 16_384, 2**31, 2**63 - 1, -1, -128, -(2**63)],
    "int32_val": [0, 1, 127, 128, 2**31 - 1, -1, -(2**31)],
    "unix_timestamp_val": [0, 1_764_000_000, -1, 2**62],
    "double_val": [0.0, -0.0, 1.5, -2.25, 1e300, 5e-324, math.inf, -math.inf, math.nan],
    "float_val": [0.0, 1.5, -2.25, 3.4e38, 0.1, math.inf, math.nan],
    "string_val": ["", "a", "electronics", "Größe 10\u201d", "x" * 200, "y" * 20_000, "\U0001f600"],
    "bool_val": [True, False],
}
OTHERS = [
    ValueProto(),
    ValueProto(null_val=Null.NULL),
    ValueProto(bytes_val=b""),
    ValueProto(bytes_val=b"\x00\xff raw"),
    ValueProto(string_list_val=StringList(val=["a", "", "ü"])),
    ValueProto(int64_list_val=Int64List(val=[1, -1, 2**40])),
    ValueProto(int32_list_val=Int32List(val=[])),
    ValueProto(double_list_val=DoubleList(val=[0.5, -1e9])),
    ValueProto(float_list_val=FloatList(val=[0.1])),
    ValueProto(bool_list_val=BoolList(val=[True, False])),
    ValueProto(bytes_list_val=BytesList(val=[b"x"])),
]


def same(a, b) -> bool:
    """Equal values of equal types (NaN equals NaN, -0.0 is not 0.0)."""
    if isinstance(a, float) and isinstance(b, float):
        return struct.pack("<d", a) == struct.pack("<d", b) or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("field", sorted(SCALARS))
def test_scalars_are_read_from_the_wire_as_protobuf_reads_them(field):
    for value in SCALARS[field]:
        proto = ValueProto(**{field: value})
        data = proto.SerializeToString()
        # the fast path itself decodes it (protobuf is not asked)
        assert decode._scalar(data, data[0], len(data)) is not ..., (field, value)
        assert same(decode_value(data), native(proto)), (field, value)


def test_random_scalars_match_protobuf():
    rng = random.Random(7)
    for _ in range(3_000):
        field = rng.choice(sorted(SCALARS))
        value = {"int64_val": lambda: rng.randint(-(2**63), 2**63 - 1), "int32_val": lambda: rng.randint(-(2**31), 2**31 - 1),
                 "unix_timestamp_val": lambda: rng.randint(0, 2**40),
                 "double_val": lambda: rng.uniform(-1e12, 1e12), "float_val": lambda: rng.uniform(-1e6, 1e6),
                 "string_val": lambda: "".join(chr(rng.randint(32, 0x2FFF)) for _ in range(rng.randint(0, 300))),
                 "bool_val": lambda: rng.random() < 0.5}[field]()
        proto = ValueProto(**{field: value})
        assert same(decode_value(proto.SerializeToString()), native(proto)), (field, value)


def test_repeated_values_come_from_the_bounded_cache_unchanged(monkeypatch):
    monkeypatch.setattr(decode, "_known", {})
    monkeypatch.setattr(decode, "_KNOWN_MAX_VALUES", 5)
    protos = [ValueProto(**{field: value}) for field in sorted(SCALARS) for value in SCALARS[field]]
    for _ in range(3):  # first decoded, then looked up (the cache cleared whenever it holds 5)
        for proto in protos:
            assert same(decode_value(proto.SerializeToString()), native(proto)), proto
            assert len(decode._known) <= 5
    assert "y" * 20_000 not in decode._known.values()  # long encodings are not kept
    listed = ValueProto(int64_list_val=Int64List(val=[1, 2])).SerializeToString()
    first, second = decode_value(listed), decode_value(listed)
    assert first == second == [1, 2] and first is not second  # a response's list is its own


@pytest.mark.parametrize("proto", OTHERS, ids=lambda p: p.WhichOneof("val") or "unset")
def test_other_types_go_through_protobuf(proto):
    assert decode_value(proto.SerializeToString()) == native(proto)


def test_missing_and_odd_layouts():
    assert decode_value(None) is None and decode_value(b"") is None
    # two fields of the oneof (the last one wins) and an unknown trailing field: protobuf decides
    two = ValueProto(int64_val=5).SerializeToString() + ValueProto(string_val="z").SerializeToString()
    assert decode_value(two) == native(ValueProto.FromString(two)) == "z"
    padded = ValueProto(double_val=2.5).SerializeToString() + b"\xf8\x07\x01"  # field 127, varint
    assert decode_value(padded) == 2.5
    bad_utf8 = b"\x12\x02\xff\xfe"
    with pytest.raises(Exception):  # protobuf refuses it; so does the read path
        decode_value(bad_utf8)


def test_event_time_is_the_instant_feast_reads():
    moments = [datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 11, 1, 12, 30, 5, 123_000, tzinfo=timezone.utc),
               datetime(2026, 11, 1, 12, 30, 5, 123_456, tzinfo=timezone.utc), datetime(1970, 1, 1, tzinfo=timezone.utc),
               datetime(2025, 3, 9, 23, 59, 59, 999_999, tzinfo=timezone.utc)]
    value = ValueProto(int64_val=3).SerializeToString()
    for moment in moments:
        stamp = Timestamp()
        stamp.FromDatetime(moment)
        data = stamp.SerializeToString()
        feast_time, feast_values = RedisOnlineStore()._get_features_for_entity([value, data], "v", ["f", "_ts:v"])
        seconds, text = event_time(data)
        assert seconds == feast_time.timestamp() == moment.timestamp()
        assert text == decode.timestamp_text(feast_time)
        assert text.startswith(moment.strftime("%Y-%m-%dT%H:%M:%S")) and text.endswith("Z")
    assert event_time(Timestamp(seconds=1, nanos=500_000_000).SerializeToString())[1] == "1970-01-01T00:00:01.500Z"
    assert event_time(Timestamp(seconds=1, nanos=1_000).SerializeToString())[1] == "1970-01-01T00:00:01.000001Z"


@pytest.fixture(scope="module")
def redis_world(tmp_path_factory):
    from test_serving_support import build_served_world

    problem = _redis_available(SERVICE_REDIS_URL)
    if problem:
        (pytest.fail if REQUIRE_SERVICES else pytest.skip)(problem)
    settings = build_served_world(tmp_path_factory.mktemp("decode_redis"), "redis", SERVICE_REDIS_URL)
    try:
        yield settings
    finally:
        from dagster_project.feast_ext.repo import get_feature_store

        get_feature_store(settings).teardown()


class _ViewByView:
    """The Redis store seen without `online_read_many`: the read path then reads view by view
    through Feast's `online_read` and its protobuf conversion."""

    def __init__(self, store):
        self._store = store

    def online_read(self, *args, **kwargs):
        return self._store.online_read(*args, **kwargs)


READS = [
    {"feature_service": "personalization_v1",
     "entities": {"customer_id": ["cus_a", "cus_b", "cus_c", "cus_none", "cus_a"],
                  "product_id": ["SKU-1", "SKU-OLD", "SKU-2", "SKU-NONE", "SKU-1"]}, "include_age": True},
    {"features": ["product_features:price", "product_features:is_active", "product_features:brand",
                  "customer_features:favourite_category", "customer_features:orders_90d", "customer_features:return_rate"],
     "entities": {"product_id": ["SKU-2", "SKU-OLD", "SKU-2", "SKU-NONE"], "customer_id": ["cus_c", "cus_c", "cus_b", "cus_a"]},
     "max_age_seconds": 20 * 86_400, "full_feature_names": True},
]


@pytest.mark.parametrize("body", READS, ids=["service, repeats, unknown, ages", "features, max age, nulls"])
def test_raw_redis_replies_answer_as_online_read_does(redis_world, body):
    from dagster_project.feast_ext.repo import get_feature_store
    from dagster_project.serving.catalog import load_catalog, open_online_store
    from dagster_project.serving.read import read_online_features
    from dagster_project.serving.request import Limits, parse_online_request

    store = get_feature_store(redis_world)
    catalog = load_catalog(store)
    online_store = open_online_store(store)
    assert hasattr(online_store, "online_read_many")  # the raw path is the one under test
    request = parse_online_request(dict(body), catalog, Limits())
    now = datetime.now(timezone.utc) + timedelta(seconds=1)
    raw = read_online_features(catalog, online_store, store.config, request, now)
    by_view = read_online_features(catalog, _ViewByView(online_store), store.config, request, now)
    assert raw == by_view
    statuses = {s for result in raw["results"] for s in result["statuses"]}
    assert {"PRESENT", "NOT_FOUND", "OUTSIDE_MAX_AGE"} <= statuses


def test_cached_redis_keys_are_the_keys_feast_builds():
    from feast.infra.online_stores.helpers import _redis_key
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey

    from dagster_project.feast_ext import online_stores

    keys = [EntityKey(join_keys=["customer_id"], entity_values=[ValueProto(string_val="cus_a")]),
            EntityKey(join_keys=["customer_id"], entity_values=[ValueProto(string_val="cus_ä")]),
            EntityKey(join_keys=["store_id"], entity_values=[ValueProto(int64_val=-7)]),
            EntityKey(join_keys=["store_id"], entity_values=[ValueProto(int32_val=7)]),
            EntityKey(join_keys=["product_id", "customer_id"],
                      entity_values=[ValueProto(string_val="SKU-1"), ValueProto(string_val="cus_a")])]
    for _ in range(2):  # built, then kept
        for project in ("shop_a", "shop_b"):
            for key in keys:
                assert online_stores._read_key(project, key, 3) == _redis_key(project, key, entity_key_serialization_version=3)
    assert len({online_stores._read_key(p, k, 3) for p in ("shop_a", "shop_b") for k in keys}) == 2 * len(keys)


def test_a_null_timestamp_reads_as_null_as_feast_reads_it():
    """Feast stores a null timestamp as NaT's integer and reads it back as unset: so does the
    read path (a client would otherwise get -9223372036854775808 for a missing time)."""
    from feast.type_map import NULL_TIMESTAMP_INT_VALUE, feast_value_type_to_python_type

    proto = ValueProto(unix_timestamp_val=NULL_TIMESTAMP_INT_VALUE)
    assert feast_value_type_to_python_type(proto) is None
    assert decode_value(proto.SerializeToString()) is None and native(proto) is None
    assert decode_value(ValueProto(int64_val=NULL_TIMESTAMP_INT_VALUE).SerializeToString()) == NULL_TIMESTAMP_INT_VALUE
    listed = ValueProto(unix_timestamp_list_val=Int64List(val=[NULL_TIMESTAMP_INT_VALUE, 5]))
    assert native(listed) == [None, 5]
