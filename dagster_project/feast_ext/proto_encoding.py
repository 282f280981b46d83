"""Feature values straight from Arrow columns to the bytes of Feast's `ValueProto`.

A publish writes every feature of every entity as a serialized `feast.types.Value` (what Feast's
online stores hold and its readers parse). Feast gets there through one Python protobuf object per
cell (`feast.utils._convert_arrow_to_proto`), which is most of a publish's time. For the scalar
types our views use, the wire format is a few bytes we can write directly from the column:

    int64_val  = 4  -> 0x20 + varint (two's complement, 10 bytes when negative)
    int32_val  = 3  -> 0x18 + varint (sign-extended like int64)
    double_val = 5  -> 0x29 + 8 bytes little-endian
    float_val  = 6  -> 0x35 + 4 bytes little-endian
    string_val = 2  -> 0x12 + varint length + UTF-8
    bool_val   = 7  -> 0x38 + 0/1
    null (None, NaN) -> b"" (an empty Value, as Feast writes it)

The members of the `val` oneof have explicit presence, so zeros and empty strings are written
too. tests/test_proto_encoding.py checks these bytes against protobuf's own serialization of
Feast's conversion for every type and edge case; types not listed return None and the caller
falls back to Feast's conversion."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_TWO_64 = 1 << 64


def varint(value: int) -> bytes:
    """Protobuf base-128 varint of a non-negative int (negatives: add 2**64 first)."""
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _varint_field(tag: int, values: list) -> list[bytes]:
    small = [bytes((tag, v)) for v in range(0x80)]
    out = []
    for v in values:
        if v is None:
            out.append(b"")
        elif 0 <= v < 0x80:
            out.append(small[v])
        else:
            out.append(bytes((tag,)) + varint(v if v >= 0 else v + _TWO_64))
    return out


def _fixed_field(tag: int, array: pa.Array, fmt: str, width: int) -> list[bytes]:
    """Fixed-width floats: one vectorised buffer of tag + value per row, sliced per row; nulls
    and NaN become an empty Value (pd.isnull is what Feast tests)."""
    n = len(array)
    numpy_type = np.dtype(fmt)
    values = array.to_numpy(zero_copy_only=False).astype(numpy_type, copy=False)
    missing = np.isnan(values)
    if array.null_count:
        missing |= array.is_null().to_numpy(zero_copy_only=False)
    buf = np.empty((n, width + 1), dtype=np.uint8)
    buf[:, 0] = tag
    buf[:, 1:] = np.ascontiguousarray(values).view(np.uint8).reshape(n, width)
    flat = buf.tobytes()
    step = width + 1
    return [b"" if m else flat[i * step:(i + 1) * step] for i, m in enumerate(missing.tolist())]


def _string_field(array: pa.Array) -> list[bytes]:
    # values repeat (categories, devices): encode each distinct string once
    encoded: dict = {}
    out = []
    for v in array.to_pylist():
        if v is None:
            out.append(b"")
            continue
        b = encoded.get(v)
        if b is None:
            raw = v.encode("utf-8")
            b = encoded[v] = b"\x12" + varint(len(raw)) + raw
        out.append(b)
    return out


_BOOL = {True: b"\x38\x01", False: b"\x38\x00", None: b""}


def encode_column(array: pa.Array | pa.ChunkedArray, value_type) -> list[bytes] | None:
    """Serialized `ValueProto` per row of an Arrow column of Feast type `value_type`
    (feast.value_type.ValueType), or None when the type is not one this module writes."""
    from feast.value_type import ValueType

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    t = array.type
    if value_type == ValueType.DOUBLE and (pa.types.is_floating(t) or pa.types.is_integer(t)):
        return _fixed_field(0x29, array, "<f8", 8)
    if value_type == ValueType.FLOAT and (pa.types.is_floating(t) or pa.types.is_integer(t)):
        return _fixed_field(0x35, array, "<f4", 4)
    if value_type in (ValueType.INT64, ValueType.INT32) and pa.types.is_integer(t):
        return _varint_field(0x20 if value_type == ValueType.INT64 else 0x18, array.to_pylist())
    if value_type == ValueType.STRING and (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return _string_field(array)
    if value_type == ValueType.BOOL and pa.types.is_boolean(t):
        return [_BOOL[v] for v in array.to_pylist()]
    return None


def utc_datetimes(array: pa.Array | pa.ChunkedArray) -> list[datetime]:
    """Aware UTC datetimes of a timestamp column (naive values are UTC), microsecond precision."""
    if array.null_count:
        raise ValueError("event timestamps must not be null")
    return pc.cast(array, pa.timestamp("us", tz="UTC")).to_pylist()


__all__ = ["encode_column", "utc_datetimes", "varint"]
