"""Building blocks for the generated tables: dictionary-encoded and nullable Arrow columns, seeded
ids (sequential, scrambled, UUID-shaped) and small vectorised helpers over index arrays."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pyarrow as pa

from dagster_project.sample_data.window import DAY


def dictionary_column(indices: np.ndarray, dictionary) -> pa.DictionaryArray:
    """Dictionary-encoded string column: cheap to build from index arrays; an index < 0 is null."""
    indices = np.asarray(indices)
    mask = indices < 0
    arrow_indices = pa.array(np.where(mask, 0, indices).astype(np.int32), mask=mask if mask.any() else None)
    if not isinstance(dictionary, pa.Array):
        dictionary = pa.array(list(dictionary), pa.string())
    return pa.DictionaryArray.from_arrays(arrow_indices, dictionary)


def nullable_column(values: np.ndarray, mask: np.ndarray) -> pa.Array:
    """Numeric column with nulls where mask is True."""
    return pa.array(values, mask=mask if mask.any() else None)


def _hex_strings(raw: np.ndarray, dashes: bool) -> pa.Array:
    """Format rows of random bytes (rows, width) as lowercase hex strings, optionally UUID-shaped."""
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    rows, width = raw.shape
    chars = np.empty((rows, 2 * width), dtype=np.uint8)
    chars[:, 0::2] = digits[raw >> 4]
    chars[:, 1::2] = digits[raw & 15]
    if dashes:  # 8-4-4-4-12
        dash = np.full((rows, 1), ord("-"), dtype=np.uint8)
        chars = np.hstack([chars[:, :8], dash, chars[:, 8:12], dash, chars[:, 12:16], dash,
                           chars[:, 16:20], dash, chars[:, 20:]])
    text_width = chars.shape[1]
    buffer = pa.py_buffer(np.ascontiguousarray(chars).tobytes())
    return pa.Array.from_buffers(pa.binary(text_width), rows, [None, buffer]).cast(pa.string())


def uuid_like(rng: np.random.Generator, n: int) -> pa.Array:
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # looks like a version-4 UUID, but comes from the seeded RNG
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    return _hex_strings(raw, dashes=True)


def scrambled_ids(rng: np.random.Generator, n: int, prefix: str, nbytes: int = 5) -> list[str]:
    """Unique random-looking ids: an odd multiplier is a bijection modulo 2**bits."""
    bits = 8 * nbytes
    multiplier = int(rng.integers(1, 2**31)) * 2 + 1
    salt = int(rng.integers(0, 2**31))
    order = rng.permutation(n).astype(object)
    return [f"{prefix}{(int(i) * multiplier + salt) % (1 << bits):0{2 * nbytes}x}" for i in order]


def sequential_ids(prefix: str, n: int, width: int, start: int = 1) -> pa.Array:
    return pa.array([f"{prefix}{i:0{width}d}" for i in range(start, start + n)], pa.string())


def numbered_in_order(rank: np.ndarray) -> np.ndarray:
    """The number of every row when rows are numbered in the order `rank` (a permutation) lists them."""
    numbers = np.empty(len(rank), dtype=np.int64)
    numbers[rank] = np.arange(len(rank))
    return numbers


def berlin_offset_minutes(times: np.ndarray) -> np.ndarray:
    """UTC offset of Europe/Berlin (CET/CEST) at epoch seconds."""
    years = times.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970
    offsets = np.full(len(times), 60, dtype=np.int16)
    for year in np.unique(years):
        def last_sunday(month: int) -> int:
            day = date(int(year), month + 1, 1) - timedelta(days=1)
            day -= timedelta(days=(day.weekday() + 1) % 7)
            return int(datetime(day.year, day.month, day.day, 1, tzinfo=timezone.utc).timestamp())
        summer = (years == year) & (times >= last_sunday(3)) & (times < last_sunday(10))
        offsets[summer] = 120
    return offsets


def segments(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of sizes `counts`: the group of every element and its position in the group."""
    counts = np.asarray(counts, dtype=np.int64)
    group = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    position = np.arange(len(group)) - starts[group]
    return group, position


def last_version_per_day(key: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Mask of the last version per key and UTC day (rows sorted by key, then time): an upsert
    file carries a record's state at the end of its day, once."""
    day = times // DAY
    next_is_same = np.zeros(len(key), bool)
    next_is_same[:-1] = (key[1:] == key[:-1]) & (day[1:] == day[:-1])
    return ~next_is_same


def money_round(amounts: np.ndarray) -> np.ndarray:
    return np.rint(amounts).astype(np.int64)
