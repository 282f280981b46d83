"""`forget`: one deletion request, from an identifier to an audit entry. Resolve the person in the
working warehouse, put their identifiers' hashes on the suppression list (first, so that no later
load brings them back), delete them from every layer, append the audit entry."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from dagster_project.pii_salt import with_pii_salt
from dagster_project.privacy.columns import JSON_KEYS, clear_text_kind
from dagster_project.privacy.files import TEXT_SUFFIXES, data_files, redact_text, scrub_parquet
from dagster_project.privacy.identifiers import REQUEST_KINDS, hash_identifier
from dagster_project.privacy.matching import load_person, quote
from dagster_project.privacy.online import scrub_redis, scrub_sqlite
from dagster_project.privacy.person import Person, SharedIdentifier, UnknownIdentifier, resolve
from dagster_project.privacy.suppression import Entry, add_entries, read_entries, suppression_path
from dagster_project.privacy.warehouse import base_tables, delete_person, rewrite_database, table_condition
from dagster_project.publish import published_dir
from dagster_project.settings import Settings

__all__ = ["ForgetReport", "SharedIdentifier", "UnknownIdentifier", "audit_path", "forget"]


@dataclass
class ForgetReport:
    request_id: str
    outcome: str  # "deleted" or "already_forgotten"
    requested_at: datetime
    seconds: float = 0.0
    customers: int = 0
    identifiers: int = 0
    newly_suppressed: int = 0
    # layer -> table or file -> rows (or keys) deleted
    layers: dict[str, dict[str, int]] = field(default_factory=dict)
    # what a scan after the deletion still found of the person (empty: verified)
    remaining: dict[str, int] = field(default_factory=dict)

    def totals(self) -> dict[str, int]:
        return {layer: sum(rows.values()) for layer, rows in self.layers.items()}

    def render(self) -> str:
        if self.outcome == "already_forgotten":
            return (f"rcl forget: request {self.request_id}: this person was already forgotten "
                    "(their identifier is on the suppression list); nothing left to delete")
        lines = [f"rcl forget: request {self.request_id}: {self.customers} customer id(s), {self.identifiers} "
                 f"identifier(s); {self.newly_suppressed} new suppression list entries"]
        for layer, rows in self.layers.items():
            lines.append(f"  {layer}: {sum(rows.values()):,} deleted" + (f" ({len(rows)} tables/files)" if rows else ""))
        lines.append("Verified: nothing of them found in any layer afterwards" if not self.remaining
                     else f"NOT verified: still found {self.remaining}")
        lines.append(f"Done in {self.seconds:.1f}s; audit entry appended to the deletion log")
        return "\n".join(lines)


def audit_path(settings: Settings) -> Path:
    return settings.data_dir / "privacy" / "deletions.jsonl"


def new_request_id(now: datetime) -> str:
    return f"del-{now.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"


def forget(settings: Settings, request_kind: str, value: str, *, request_id: str | None = None) -> ForgetReport:
    """Forget the person `value` (an identifier of kind `request_kind`, a REQUEST_KINDS key)
    identifies, in every layer. Raises UnknownIdentifier (nothing changed) or SharedIdentifier.

    The working warehouse, where the person is resolved, is cleaned last: a request that fails
    half-way (Redis down) leaves them resolvable, and repeating it finishes the job."""
    if request_kind not in REQUEST_KINDS:
        raise ValueError(f"unknown identifier kind {request_kind!r}; one of {', '.join(REQUEST_KINDS)}")
    settings = with_pii_salt(settings)  # hashed as dbt hashed: RCL_PII_SALT, else the data dir's salt
    started, now = time.perf_counter(), datetime.now(timezone.utc)
    report = ForgetReport(request_id=request_id or new_request_id(now), outcome="deleted", requested_at=now)
    if not settings.warehouse_path.exists():
        raise UnknownIdentifier(f"there is no warehouse at {settings.warehouse_path}: nothing to delete")
    config = {"memory_limit": settings.duckdb_memory_limit}
    with duckdb.connect(str(settings.warehouse_path), config=config) as conn:  # held: no run writes meanwhile
        try:
            person = resolve(conn, request_kind, value, settings)
        except UnknownIdentifier:
            if not _already_suppressed(conn, request_kind, value, settings):
                raise
            report.outcome = "already_forgotten"
            return _finish(settings, report, started)
        add_clear_text(conn, person, settings)
        report.customers, report.identifiers = len(person.customer_ids), len(person.pairs())
        report.newly_suppressed = add_entries(settings, suppression_entries(conn, person, settings), report.request_id)
        _delete_outside_the_warehouse(settings, person, report, config)
        report.layers = {"warehouse": delete_person(conn, person, settings), **report.layers}
        conn.execute("checkpoint")
    if report.layers["warehouse"]:
        rewrite_database(settings.warehouse_path, config)
    report.remaining = verify(settings, person, config)
    return _finish(settings, report, started)


def _delete_outside_the_warehouse(settings: Settings, person: Person, report: ForgetReport, config: dict) -> None:
    report.layers["published_warehouse"] = scrub_published(settings, person, config)
    report.layers["parquet_files"] = _scrub_files(settings, person)
    report.layers.update(scrub_online(settings, person))
    report.layers["text_files"] = _redact_files(settings, person)


def verify(settings: Settings, person: Person, config: dict) -> dict[str, int]:
    """Scan every layer again for the person: where -> rows or keys still found."""
    from dagster_project.privacy.online import count_online
    from dagster_project.privacy.warehouse import count_rows

    remaining = {}
    databases = [settings.warehouse_path]
    folder = published_dir(settings)
    databases += sorted(folder.glob("warehouse-*.duckdb")) if folder.is_dir() else []
    for path in databases:
        with duckdb.connect(str(path), config=config) as conn:
            remaining.update({f"{path.name}:{t}": n for t, n in count_rows(conn, person, settings).items()})
    for path in data_files(settings, (".parquet",)):
        n = scrub_parquet(path, person, settings, delete=False)
        if n:
            remaining[_relative(path, settings)] = n
    remaining.update(count_online(settings, person))
    return remaining


def _finish(settings: Settings, report: ForgetReport, started: float) -> ForgetReport:
    report.seconds = round(time.perf_counter() - started, 2)
    append_audit(settings, report)
    return report


def _already_suppressed(conn, request_kind: str, value: str, settings: Settings) -> bool:
    kind = REQUEST_KINDS[request_kind]
    digest = hash_identifier(conn, kind, value, settings)
    entries = read_entries(settings)
    return digest is not None and (kind, digest) in set(zip(entries.column("identifier_type").to_pylist(),
                                                           entries.column("identifier_hash").to_pylist()))


def add_clear_text(conn, person: Person, settings: Settings) -> None:
    """The emails and phones as delivered in the person's raw rows (to find them as text in
    quarantined records and in text files)."""
    load_person(conn, person)
    for schema, table in base_tables(conn):
        if schema != "raw" or table.endswith(("__quarantine", "__reconciliation")):
            continue
        condition = table_condition(conn, schema, table, person, settings)
        columns = conn.execute("select column_name, data_type from information_schema.columns where "
                               "table_catalog = current_database() and table_schema = ? and table_name = ?",
                               [schema, table]).fetchall()
        texts = [quote(c) for c, _ in columns if clear_text_kind(c)]
        texts += [f"json_extract_string(try_cast({quote(c)} as json), '$.{key}')"
                  for c, t in columns if t == "JSON" for key in JSON_KEYS if clear_text_kind(key)]
        if condition and texts:
            for expression in texts:
                person.clear_text.update(str(r[0]).strip() for r in conn.execute(
                    f"select distinct {expression} from {quote(schema)}.{quote(table)} where {condition}").fetchall()
                    if r[0] is not None and str(r[0]).strip())


def suppression_entries(conn, person: Person, settings: Settings) -> set[Entry]:
    """The suppression hashes of every identifier of the person (emails and phones keep theirs)."""
    from dagster_project.privacy.identifiers import id_hash_sql

    entries = set()
    for kind, value in person.pairs():
        digest = value if kind in ("email_hash", "phone_hash") else \
            conn.execute(f"select {id_hash_sql(kind, '$1::varchar', settings)}", [value]).fetchone()[0]
        if digest:
            entries.add(Entry(kind, digest))
    return entries


def scrub_published(settings: Settings, person: Person, config: dict) -> dict[str, int]:
    """Each published build, cleaned as a copy that replaces it in one rename (an analyst's open
    connection keeps reading the build it opened; a new one sees the cleaned build)."""
    from dagster_project.privacy.warehouse import scrub_database

    deleted = {}
    folder = published_dir(settings)
    for build in sorted(folder.glob("warehouse-*.duckdb")) if folder.is_dir() else []:
        copy = build.with_name(f".{build.name}.forget")
        try:
            shutil.copyfile(build, copy)
            rows = scrub_database(copy, person, settings, memory_limit=config.get("memory_limit"))
            if rows:
                os.replace(copy, build)
                deleted.update({f"{build.name}:{table}": n for table, n in rows.items()})
        finally:
            copy.unlink(missing_ok=True)
            Path(f"{copy}.wal").unlink(missing_ok=True)
    return deleted


def _scrub_files(settings: Settings, person: Person) -> dict[str, int]:
    deleted = {}
    for path in data_files(settings, (".parquet",)):
        n = scrub_parquet(path, person, settings)
        if n:
            deleted[_relative(path, settings)] = n
    return deleted


def scrub_online(settings: Settings, person: Person) -> dict[str, dict[str, int]]:
    """The configured online store; the SQLite file too when it is there beside a Redis store."""
    layers = {}
    if settings.online_store == "redis":
        layers["online_store_redis"] = {k: v for k, v in scrub_redis(settings, person).items() if v}
    layers["online_store_sqlite"] = scrub_sqlite(settings, person)
    return layers


def _redact_files(settings: Settings, person: Person) -> dict[str, int]:
    redacted = {}
    for path in data_files(settings, TEXT_SUFFIXES):
        n = redact_text(path, person)
        if n:
            redacted[_relative(path, settings)] = n
    return redacted


def _relative(path: Path, settings: Settings) -> str:
    try:
        return str(path.relative_to(settings.data_dir.resolve()))
    except ValueError:
        return path.name


def append_audit(settings: Settings, report: ForgetReport) -> Path:
    """One line of JSON per request: when, which layers, rows per layer and table; no identifier."""
    path = audit_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "request_id": report.request_id, "requested_at": report.requested_at.isoformat(),
        "finished_at": datetime.now(timezone.utc).isoformat(), "seconds": report.seconds,
        "outcome": report.outcome, "customers": report.customers, "identifiers": report.identifiers,
        "suppression_entries_added": report.newly_suppressed, "rows_per_layer": report.totals(),
        "layers": report.layers, "verified": not report.remaining, "remaining": report.remaining,
        "suppression_list": str(suppression_path(settings).relative_to(settings.data_dir)),
    }
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return path
