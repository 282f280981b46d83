"""Stored values as the read path serves them: Feast `ValueProto` bytes -> JSON-ready Python, and
a stored event time (`Timestamp` bytes) -> (epoch seconds, RFC 3339 text).

The scalar types (int32/int64/unix timestamp, double, float, bool, string) are read from the wire
format directly (one tag byte and its payload), without building a protobuf object; anything else
(lists, bytes, nulls, unknown layouts) goes through protobuf. tests/test_serving_decode.py checks
both against protobuf for every value type.
"""

from __future__ import annotations

import base64
import struct
from datetime import datetime, timezone
from functools import lru_cache

from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from google.protobuf.timestamp_pb2 import Timestamp

_DOUBLE = struct.Struct("<d").unpack_from
_FLOAT = struct.Struct("<f").unpack_from
# tag byte = field number << 3 | wire type, for the oneof members of feast.types.Value
_INT32, _INT64, _UNIX_TIMESTAMP, _BOOL = 0x18, 0x20, 0x40, 0x38  # varint
_STRING, _DOUBLE_TAG, _FLOAT_TAG = 0x12, 0x29, 0x35  # length-delimited, 64-bit, 32-bit
# A null timestamp is stored as NaT's integer (Feast's NULL_TIMESTAMP_INT_VALUE); Feast reads it as unset
NULL_TIMESTAMP = -(1 << 63)


def native(value: ValueProto):
    """A stored value as JSON-ready Python (the scalar and list types the project's views use)."""
    which = value.WhichOneof("val")
    if which is None or which == "null_val":
        return None
    if which == "bytes_val":
        return base64.b64encode(value.bytes_val).decode("ascii")
    field = getattr(value, which)
    if which == "unix_timestamp_val" and field == NULL_TIMESTAMP:
        return None
    if which == "unix_timestamp_list_val":
        return [None if v == NULL_TIMESTAMP else v for v in field.val]
    return list(field.val) if hasattr(field, "val") else field


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _scalar(data: bytes, tag: int, size: int):
    """The value of a one-field message of a scalar type, or `...` when it is laid out otherwise."""
    if tag == _DOUBLE_TAG:
        return _DOUBLE(data, 1)[0] if size == 9 else ...
    if tag == _INT64 or tag == _UNIX_TIMESTAMP or tag == _INT32:
        number, end = _varint(data, 1)
        if end != size:
            return ...
        if tag == _INT32:  # int32 is sign-extended to 64 bits on the wire; protobuf keeps 32
            number &= 0xFFFFFFFF
            return number - (1 << 32) if number >= 1 << 31 else number
        number = number - (1 << 64) if number >= 1 << 63 else number
        return None if number == NULL_TIMESTAMP and tag == _UNIX_TIMESTAMP else number
    if tag == _STRING:
        length, start = _varint(data, 1)
        if start + length != size:
            return ...
        try:
            return data[start:].decode("utf-8")
        except UnicodeDecodeError:
            return ...
    if tag == _BOOL:
        number, end = _varint(data, 1)
        return number != 0 if end == size else ...
    if tag == _FLOAT_TAG:
        return _FLOAT(data, 1)[0] if size == 5 else ...
    return ...


def decode_value(data: bytes | None):
    """The JSON-ready value of stored `ValueProto` bytes; None for a missing or empty value (Feast
    reads both as an unset value)."""
    if not data:
        return None
    value = _known.get(data, ...)
    if value is not ...:
        return value
    size = len(data)
    try:
        value = _scalar(data, data[0], size)
    except IndexError:  # truncated: let protobuf say what it makes of it
        value = ...
    if value is ...:
        return native(ValueProto.FromString(data))  # lists (mutable: never shared) and the rare rest
    if size <= _KNOWN_MAX_BYTES:
        if len(_known) >= _KNOWN_MAX_VALUES:
            _known.clear()
        _known[data] = value
    return value


# Feature values repeat (small counts, flags, categories, brands, a catalog's prices): the scalars
# of short encodings are decoded once per worker and looked up after (bounded: cleared when full).
_known: dict[bytes, object] = {}
_KNOWN_MAX_VALUES = 50_000
_KNOWN_MAX_BYTES = 64


@lru_cache(maxsize=65_536)
def timestamp_text(ts: datetime) -> str:
    """RFC 3339 with a Z, fractions only when present (as Feast's server writes them)."""
    base = ts.strftime("%Y-%m-%dT%H:%M:%S")
    if ts.microsecond == 0:
        return base + "Z"
    if ts.microsecond % 1000 == 0:
        return f"{base}.{ts.microsecond // 1000:03d}Z"
    return f"{base}.{ts.microsecond:06d}Z"


@lru_cache(maxsize=65_536)  # feature rows share event times (one per day): each is decoded once
def event_time(data: bytes) -> tuple[float, str]:
    """(epoch seconds, RFC 3339 text) of a stored `Timestamp`, the instant Feast's Redis reader
    makes of it (seconds + nanos as a float, to the microsecond)."""
    stamp = Timestamp.FromString(data)
    moment = datetime.fromtimestamp(stamp.seconds + stamp.nanos / 1_000_000_000.0, tz=timezone.utc)
    return moment.timestamp(), timestamp_text(moment)
