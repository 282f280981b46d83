"""The served-context log: every online read (a sampled share, default all) recorded with its
request id, feature service, entity keys, the values served with their statuses and event times,
appended as Parquet files under `<data dir>/served_context/` so that a generated text can be
traced back to the exact data behind it. Analysts read it with DuckDB:
`select * from read_parquet('data/served_context/*.parquet')`.

Entity keys are the warehouse's pseudonymous ids (customer_id, product_id) and feature values
hold no clear-text PII (the feature tables are checked for it), so the log holds none either."""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import orjson

SCHEMA_FIELDS = ("request_id", "served_at", "feature_service", "features", "entities", "values", "statuses",
                 "event_timestamps")


class ServedContextLog:
    def __init__(self, directory: Path, sample_rate: float = 1.0, flush_rows: int = 5_000):
        if not 0.0 <= sample_rate <= 1.0:
            raise ValueError(f"the served-context sample rate must be within 0..1, not {sample_rate}")
        self.directory = Path(directory)
        self.sample_rate = sample_rate
        self.flush_rows = flush_rows
        self._rows: list[tuple] = []
        self._lock = threading.Lock()
        self._part = 0

    @classmethod
    def from_env(cls, data_dir: Path) -> "ServedContextLog":
        return cls(Path(os.environ.get("RCL_SERVED_CONTEXT_DIR", data_dir / "served_context")),
                   float(os.environ.get("RCL_SERVED_CONTEXT_SAMPLE", "1.0")))

    def record(self, request_id: str, feature_service: str | None, features: list[str], entities: dict,
               response: dict, served_at: datetime) -> bool:
        """Keep one read (if sampled). Cheap: the response's lists are serialized, not copied."""
        if self.sample_rate < 1.0 and random.random() >= self.sample_rate:
            return False
        keys = len(response["results"]) - len(features)  # the join key columns come first
        names = response["metadata"]["feature_names"][keys:]
        columns = response["results"][keys:]
        row = (request_id, served_at, feature_service, features,
               orjson.dumps(entities).decode(),
               orjson.dumps(dict(zip(names, (c["values"] for c in columns)))).decode(),
               orjson.dumps(dict(zip(names, (c["statuses"] for c in columns)))).decode(),
               orjson.dumps(dict(zip(names, (c["event_timestamps"] for c in columns)))).decode())
        with self._lock:
            self._rows.append(row)
            full = len(self._rows) >= self.flush_rows
        return full

    def flush(self) -> Path | None:
        """Write what is buffered as one new Parquet file (written aside, then renamed into place)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        with self._lock:
            rows, self._rows = self._rows, []
            self._part += 1
            part = self._part
        if not rows:
            return None
        columns = list(zip(*rows))
        table = pa.table({
            "request_id": pa.array(columns[0], pa.string()),
            "served_at": pa.array(columns[1], pa.timestamp("us", tz="UTC")),
            "feature_service": pa.array(columns[2], pa.string()),
            "features": pa.array(columns[3], pa.list_(pa.string())),
            "entities": pa.array(columns[4], pa.string()),
            "values": pa.array(columns[5], pa.string()),
            "statuses": pa.array(columns[6], pa.string()),
            "event_timestamps": pa.array(columns[7], pa.string()),
        })
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{os.getpid()}-{part:06d}-{uuid.uuid4().hex[:6]}.parquet"
        tmp = self.directory / f".{name}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, self.directory / name)
        return self.directory / name
