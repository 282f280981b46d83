"""Writes a contract's rows to the landing folder (LandingWriter): one file per UTC date, rows in a
fixed order, so that the same seed gives byte-identical files."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Protocol

import duckdb
import numpy as np
import pyarrow as pa

from dagster_project.contracts import SourceEntity


class JsonRenderer(Protocol):
    """Renders JSON columns for a chunk of rows (web_json.WebEventJson)."""

    columns: tuple[str, ...]

    def __call__(self, part: pa.Table) -> dict[str, pa.Array]: ...


class LandingWriter:
    """Writes one contract's rows as one file per UTC date, in a fixed row order.

    DuckDB writes the days of an entity with partitioned COPYs (one file per `_day`). With a
    single thread it streams the pre-sorted rows in order, which keeps the files byte-identical
    between runs (a multi-threaded partitioned COPY interleaves rows differently each run). Rows
    go in chunks of whole days, so that the rendered JSON of 10M web events never has to be in
    memory at once."""

    CHUNK_ROWS = 400_000

    def __init__(self, landing_dir: Path):
        self.landing_dir = landing_dir
        self.con = duckdb.connect()
        self.con.execute("SET enable_progress_bar = false")
        self.con.execute("SET preserve_insertion_order = true")
        self.con.execute("SET threads = 1")

    def write(self, contract: SourceEntity, table: pa.Table, order: np.ndarray | None = None,
              render: "JsonRenderer | None" = None) -> int:
        """`table` holds the contract columns (money in integer cents, timestamps in epoch
        seconds, JSON as text) plus `_day` (UTC days since epoch = the file) and optionally
        `_tz` (offset minutes to show timestamps in). `order` sorts the rows before writing;
        `render` adds the JSON columns it names to each chunk."""
        if order is not None:
            table = table.take(pa.array(order))
        day = table.column("_day").to_numpy()
        if len(day) and np.any(np.diff(day) < 0):
            raise AssertionError(f"{contract.name}: rows not sorted by file date")
        rendered = set(render.columns) if render else set()
        select = ", ".join(self._expr(col, table, rendered) for col in contract.columns)
        fmt = "FORMAT json" if contract.format == "jsonl" else "FORMAT csv, HEADER, DELIMITER ',', QUOTE '\"'"
        folder = self.landing_dir / contract.system / contract.entity
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / ".partitions"
        # chunks of whole days
        _, first = np.unique(day, return_index=True)
        cuts, start = [], 0
        for boundary in list(first[1:]) + [len(day)]:
            if boundary - start >= self.CHUNK_ROWS or boundary == len(day):
                cuts.append((start, boundary))
                start = boundary
        for lo, hi in cuts:
            part = table.slice(lo, hi - lo)
            if render is not None:
                for name, values in render(part).items():
                    part = part.append_column(name, values)
            shutil.rmtree(staging, ignore_errors=True)
            self.con.register("_rows", part)
            self.con.execute(f"COPY (SELECT {select}, _day FROM _rows) TO '{staging}' "
                             f"({fmt}, PARTITION_BY (_day), OVERWRITE)")
            self.con.unregister("_rows")
            for partition in sorted(staging.iterdir()):
                files = list(partition.iterdir())
                if len(files) != 1:
                    raise AssertionError(f"{contract.name}: expected one file in {partition}, got {len(files)}")
                file_date = date(1970, 1, 1) + timedelta(days=int(partition.name.split("=", 1)[1]))
                files[0].rename(folder / f"{file_date}.{contract.extension}")
        shutil.rmtree(staging, ignore_errors=True)
        return table.num_rows

    @staticmethod
    def _expr(col, table: pa.Table, rendered: set[str]) -> str:
        name = f'"{col.name}"'
        if col.name not in table.column_names and col.name not in rendered:
            return f"NULL::{'VARCHAR' if col.type == 'JSON' else col.type} AS {name}"
        if col.type.startswith("DECIMAL"):
            expr = f"({name}::DECIMAL(18,0) * 0.01)::{col.type}"
        elif col.is_timestamp:
            expr = timestamp_sql(name, "_tz" in table.column_names)
        elif col.type == "JSON":
            expr = f"{name}::JSON"
        elif col.type == "DATE":
            expr = f"{name}::DATE"
        else:
            expr = f"{name}::{col.type}"
        return f"{expr} AS {name}"


def timestamp_sql(col: str, with_tz: bool) -> str:
    """ISO 8601 with offset: 'Z' for UTC, '+01:00'/'+02:00' where the row's `_tz` says so."""
    utc = f"strftime(make_timestamp({col} * 1000000), '%Y-%m-%dT%H:%M:%SZ')"
    if not with_tz:
        return utc
    local = (f"strftime(make_timestamp(({col} + _tz * 60) * 1000000), '%Y-%m-%dT%H:%M:%S') "
             f"|| printf('+%02d:%02d', _tz // 60, _tz % 60)")
    return f"CASE WHEN _tz = 0 OR _tz IS NULL THEN {utc} ELSE {local} END"

