"""The suppression list: salted hashes of the identifiers of every person forgotten, kept with
the data (`<data dir>/privacy/suppression.parquet`), so that ingestion drops their rows from
old and new landing files (`suppress_landed_rows`) and a full refresh never brings them back.

It holds no clear text: per identifier its kind, its hash (an email or phone: the warehouse's
own `email_hash`/`phone_hash`; an id: salted SHA-256 of `<kind>:<id>`), the request id and when
it was added, and a fingerprint of the salt the hashes were made with. Hashes made with another
salt match nothing, so a load under a changed salt fails instead of ingesting everyone again."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dagster_project.contracts import SourceEntity
from dagster_project.ingestion.results import ContractViolation
from dagster_project.pii_salt import with_pii_salt
from dagster_project.privacy.columns import JSON_KEYS, clear_text_kind, column_kind
from dagster_project.privacy.identifiers import hash_sql, resolved_salt, sql_literal
from dagster_project.settings import Settings

SCHEMA = pa.schema([
    ("identifier_type", pa.string()),
    ("identifier_hash", pa.string()),
    ("request_id", pa.string()),
    ("added_at", pa.timestamp("us", tz="UTC")),
    ("salt_fingerprint", pa.string()),
])
SUPPRESSED_HASHES = "suppressed_hashes"


class SuppressionListStale(ContractViolation):
    """The suppression list was hashed with another salt than the deployment's: its entries would
    match nothing, so loading would bring forgotten people back."""


def suppression_path(settings: Settings) -> Path:
    return settings.data_dir / "privacy" / "suppression.parquet"


def salt_fingerprint(settings: Settings) -> str:
    """Which salt the hashes were made with, without the salt (a hash of a hash of it)."""
    return fingerprint_of(resolved_salt(settings))


def fingerprint_of(salt: str) -> str:
    return hashlib.sha256(hashlib.sha256(salt.encode()).digest()).hexdigest()[:16]


@dataclass(frozen=True)
class Entry:
    identifier_type: str
    identifier_hash: str


def read_entries(settings: Settings) -> pa.Table:
    path = suppression_path(settings)
    return pq.read_table(path) if path.exists() else SCHEMA.empty_table()


def add_entries(settings: Settings, entries: set[Entry], request_id: str, now: datetime | None = None) -> int:
    """Append the entries not yet listed (written aside, then renamed into place); returns how
    many were new."""
    settings = with_pii_salt(settings)  # the list is hashed with the data dir's salt
    table = read_entries(settings)
    listed = set(zip(table.column("identifier_type").to_pylist(), table.column("identifier_hash").to_pylist()))
    new = sorted((e.identifier_type, e.identifier_hash) for e in entries
                 if (e.identifier_type, e.identifier_hash) not in listed)
    if not new:
        return 0
    now = now or datetime.now(timezone.utc)
    added = pa.table({
        "identifier_type": [t for t, _ in new], "identifier_hash": [h for _, h in new],
        "request_id": [request_id] * len(new), "added_at": [now] * len(new),
        "salt_fingerprint": [salt_fingerprint(settings)] * len(new),
    }, schema=SCHEMA)
    path = suppression_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(pa.concat_tables([table.cast(SCHEMA), added]), tmp)
    os.replace(tmp, path)
    return len(new)


def load_suppressed_hashes(conn, settings: Settings) -> int:
    """The list as temp table `suppressed_hashes` (kind, hash) in `conn`; returns its size.
    Raises SuppressionListStale when its entries were hashed with another salt."""
    table = read_entries(settings)
    fingerprints = set(table.column("salt_fingerprint").to_pylist())
    if fingerprints - {salt_fingerprint(settings)}:
        raise SuppressionListStale(
            f"{suppression_path(settings)} was hashed with another RCL_PII_SALT than the one set now: it would "
            "match nobody and forgotten people would be loaded again. Restore the salt it was made with "
            "(docs/privacy.md, The suppression list)")
    conn.register("suppression_arrow", table.select(["identifier_type", "identifier_hash"]))
    try:
        conn.execute(f"create or replace temp table {SUPPRESSED_HASHES} as "
                     "select distinct identifier_type as kind, identifier_hash as hash from suppression_arrow")
    finally:
        conn.unregister("suppression_arrow")
    return table.num_rows


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def row_condition(columns: list[tuple[str, str]], settings: Settings) -> str | None:
    """SQL true for a row holding a suppressed identifier, over text columns (name, DuckDB type):
    id columns by kind, clear-text emails and phones hashed as staging hashes them, and the
    identifier keys of JSON columns. None when no column can hold one."""
    tests = []

    def listed(kind: str, expression: str) -> None:
        tests.append(f"{hash_sql(kind, expression, settings)} in "
                     f"(select hash from {SUPPRESSED_HASHES} where kind = {sql_literal(kind)})")

    for name, type_ in columns:
        kind = column_kind(name) or clear_text_kind(name)
        if kind:
            listed(kind, _quote(name))
        elif type_.upper() == "JSON":
            for key in JSON_KEYS:
                key_kind = column_kind(key) or clear_text_kind(key)
                listed(key_kind, f"json_extract_string(try_cast({_quote(name)} as json), {sql_literal('$.' + key)})")
    return " or ".join(f"coalesce({t}, false)" for t in tests) or None


def suppress_landed_rows(conn, contract: SourceEntity, landed: str, suppressed: str, settings: Settings | None) -> int:
    """Ingestion's suppress step: the landed rows of a forgotten person (any of their identifiers
    on the suppression list) leave `landed` before any check, listed by file and line in
    `suppressed` (counted in the reconciliation as rows_suppressed). Returns how many."""
    conn.execute(f"create or replace temp table {suppressed} (_source_file VARCHAR, _source_line BIGINT)")
    if settings is None or not suppression_path(settings).exists():
        return 0
    settings = with_pii_salt(settings)  # the list is hashed with the data dir's salt
    if not load_suppressed_hashes(conn, settings):
        return 0
    condition = row_condition([(c.name, c.type) for c in contract.columns], settings)
    if condition is None:
        return 0
    conn.execute(f"insert into {suppressed} select _source_file, _source_line from {landed} "
                 f"where _not_parsed is null and ({condition})")
    count = conn.execute(f"select count(*) from {suppressed}").fetchone()[0]
    if count:
        conn.execute(f"delete from {landed} where (_source_file, _source_line) in "
                     f"(select (_source_file, _source_line) from {suppressed})")
    return count
