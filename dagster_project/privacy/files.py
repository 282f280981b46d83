"""Deleting one person from the files kept with the data: every Parquet file (feature tables, the
Feast offline data, the served-context log, anything else written there) and the text files the
project writes (run logs, validation reports), found by walking the data folder, not by a list."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import orjson

from dagster_project.privacy.matching import load_person, person_condition
from dagster_project.privacy.person import Person
from dagster_project.serving.served_log import SCHEMA_FIELDS
from dagster_project.settings import Settings

# Text files the project writes next to the data (run logs, validation results and pages,
# baselines): tokens of the person in them are replaced by this.
TEXT_SUFFIXES = (".log", ".json", ".jsonl", ".html", ".txt", ".md", ".yaml", ".yml")
REDACTED = "[forgotten]"
# The served-context log's columns that hold one list per entity row of a read.
_PER_ENTITY = ("values", "statuses", "event_timestamps")


def data_files(settings: Settings, suffixes: tuple[str, ...]) -> list[Path]:
    """Files under the data folder with one of `suffixes`, outside the landing folder (the
    sources' deliveries, suppressed at ingestion) and the privacy folder (the list and audit)."""
    roots = [settings.data_dir, settings.features_dir, settings.feast_dir, _served_context_dir(settings)]
    skip = [settings.landing_dir.resolve(), (settings.data_dir / "privacy").resolve()]
    found: set[Path] = set()
    for root in roots:
        if not root.is_dir():
            continue
        for path in root.rglob("*"):
            resolved = path.resolve()
            if path.is_file() and path.name.lower().endswith(suffixes) and not path.name.startswith(".") \
                    and not any(resolved.is_relative_to(s) for s in skip):
                found.add(resolved)
    return sorted(found)


def _served_context_dir(settings: Settings) -> Path:
    return Path(os.environ.get("RCL_SERVED_CONTEXT_DIR", settings.data_dir / "served_context"))


def scrub_parquet(path: Path, person: Person, settings: Settings, *, delete: bool = True) -> int:
    """Remove the person's rows from one Parquet file (rewritten aside, then renamed into place);
    returns how many rows (a served-context read of several entities loses only theirs).
    `delete=False` only counts them."""
    with duckdb.connect() as conn:
        load_person(conn, person)
        source = f"read_parquet({_string(str(path))})"
        columns = conn.execute(f"select column_name, column_type from (describe select * from {source})").fetchall()
        if set(SCHEMA_FIELDS) <= {c for c, _ in columns}:
            return _scrub_served_log(path, person, delete=delete)
        condition = person_condition(columns, person, settings)
        if condition is None:
            return 0
        n = conn.execute(f"select count(*) from {source} where {condition}").fetchone()[0]
        if n and delete:
            tmp = path.with_name(f".{path.name}.forget")
            conn.execute(f"copy (select * from {source} where not ({condition})) to {_string(str(tmp))} "
                         "(format parquet, compression zstd)")
            os.replace(tmp, path)
    return n


def _scrub_served_log(path: Path, person: Person, *, delete: bool) -> int:
    """The served-context log: a read lists its entities as JSON; the person's positions leave
    every per-entity list, and a read of only them leaves the file."""
    import pyarrow.parquet as pq

    tokens = person.tokens(min_length=1)
    table = pq.read_table(path)
    rows = table.to_pylist()
    kept, removed = [], 0
    for row in rows:
        entities = orjson.loads(row["entities"])
        positions = {i for values in entities.values() for i, v in enumerate(values) if str(v) in tokens}
        if not positions:
            kept.append(row)
            continue
        removed += len(positions)
        if all(len(values) <= len(positions) for values in entities.values()):
            continue
        row["entities"] = _json_without(entities, positions)
        for column in _PER_ENTITY:
            row[column] = _json_without(orjson.loads(row[column]), positions)
        kept.append(row)
    if removed and delete:
        import pyarrow as pa

        tmp = path.with_name(f".{path.name}.forget")
        pq.write_table(pa.Table.from_pylist(kept, schema=table.schema), tmp)
        os.replace(tmp, path)
    return removed


def _json_without(lists: dict, positions: set[int]) -> str:
    return orjson.dumps({k: [v for i, v in enumerate(values) if i not in positions] for k, values in lists.items()}).decode()


def redact_text(path: Path, person: Person) -> int:
    """Replace the person's tokens in one text file; returns how many were replaced."""
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return 0
    count = 0
    for token in sorted(person.tokens(), key=len, reverse=True):
        for variant in {token, token.lower()}:
            hits = text.count(variant)
            if hits:
                count += hits
                text = text.replace(variant, REDACTED)
    if count:
        tmp = path.with_name(f".{path.name}.forget")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return count


def _string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
