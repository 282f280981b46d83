"""Deleting one person from a DuckDB warehouse file (the working one, each published build):
every base table of every schema is scanned (privacy/matching.py), their rows deleted, the raw
tables' reconciliation moved from loaded/quarantined to suppressed, and the file rewritten so
that no deleted row survives in its free blocks."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from dagster_project.contracts import CONTRACTS
from dagster_project.privacy.columns import JSON_KEYS, clear_text_kind, column_kind
from dagster_project.privacy.matching import load_person, person_condition, quote
from dagster_project.privacy.person import Person
from dagster_project.settings import Settings

# JSON columns are searched for these keys: the generic ones and every contract column that is an
# identifier (a quarantined record is the delivered row as a JSON object of its columns).
RECORD_KEYS = tuple(dict.fromkeys(
    [*JSON_KEYS, *(c.name for contract in CONTRACTS for c in contract.columns
                   if column_kind(c.name) or clear_text_kind(c.name))]))


def base_tables(conn) -> list[tuple[str, str]]:
    """(schema, table) of every base table of the database (views are derived: they follow)."""
    return conn.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_type = 'BASE TABLE' and table_catalog = current_database() order by 1, 2").fetchall()


def table_columns(conn, schema: str, table: str) -> list[tuple[str, str]]:
    return conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = current_database() and table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table]).fetchall()


def table_condition(conn, schema: str, table: str, person: Person, settings: Settings) -> str | None:
    """The person's rows in one table: quarantine tables are also searched as free text."""
    return person_condition(table_columns(conn, schema, table), person, settings,
                            free_text=table.endswith("__quarantine"), json_keys=RECORD_KEYS)


def count_rows(conn, person: Person, settings: Settings) -> dict[str, int]:
    """schema.table -> the person's rows in it (only tables that hold some)."""
    load_person(conn, person)
    counts = {}
    for schema, table in base_tables(conn):
        condition = table_condition(conn, schema, table, person, settings)
        if condition:
            n = conn.execute(f"select count(*) from {quote(schema)}.{quote(table)} where {condition}").fetchone()[0]
            if n:
                counts[f"{schema}.{table}"] = n
    return counts


def delete_person(conn, person: Person, settings: Settings) -> dict[str, int]:
    """Delete the person's rows from every base table, in one transaction; schema.table -> rows."""
    load_person(conn, person)
    deleted = {}
    conn.execute("begin transaction")
    try:
        for schema, table in base_tables(conn):
            condition = table_condition(conn, schema, table, person, settings)
            if not condition:
                continue
            name = f"{quote(schema)}.{quote(table)}"
            if schema == "raw":
                _move_to_suppressed(conn, schema, table, condition)
            n = conn.execute(f"delete from {name} where {condition}").fetchone()[0]
            if n:
                deleted[f"{schema}.{table}"] = n
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return deleted


def _move_to_suppressed(conn, schema: str, table: str, condition: str) -> None:
    """Rows about to be deleted from a raw or quarantine table are suppressed rows in their
    file's reconciliation (rows read = loaded + quarantined + duplicates + suppressed holds)."""
    entity = table.removesuffix("__quarantine")
    reconciliation = f"{entity}__reconciliation"
    if table.endswith("__reconciliation") or not conn.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ? "
            "and table_catalog = current_database()", [schema, reconciliation]).fetchone()[0]:
        return
    counted = "rows_quarantined" if table.endswith("__quarantine") else "rows_loaded"
    target = f"{quote(schema)}.{quote(reconciliation)}"
    conn.execute(f"alter table {target} add column if not exists rows_suppressed BIGINT default 0")
    conn.execute(
        f"update {target} set {counted} = {counted} - d.n, rows_suppressed = coalesce(rows_suppressed, 0) + d.n "
        f"from (select _source_file, count(*) as n from {quote(schema)}.{quote(table)} where {condition} group by 1) d "
        f"where {target}.file = d._source_file")


def scrub_database(path: Path, person: Person, settings: Settings, *, memory_limit: str | None = None) -> dict[str, int]:
    """Delete the person from the DuckDB file at `path` and rewrite the file without them."""
    config = {"memory_limit": memory_limit} if memory_limit else {}
    with duckdb.connect(str(path), config=config) as conn:
        deleted = delete_person(conn, person, settings)
        conn.execute("checkpoint")
    if deleted:
        rewrite_database(path, config)
    return deleted


def rewrite_database(path: Path, config: dict | None = None) -> None:
    """A fresh copy of the database (tables, views, macros) replaces the file: DuckDB reuses
    the blocks of deleted rows but does not clear them, so the old file could still hold them."""
    fresh = path.with_name(f".{path.name}.rewrite")
    fresh.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(path), config=config or {}) as conn:
            conn.execute("set enable_progress_bar = false")
            source = conn.execute("select current_database()").fetchone()[0]
            conn.execute(f"attach {_string(str(fresh))} as rcl_rewrite")
            conn.execute(f"copy from database {quote(source)} to rcl_rewrite")
            conn.execute("detach rcl_rewrite")
        os.replace(fresh, path)
    finally:
        fresh.unlink(missing_ok=True)
        Path(f"{fresh}.wal").unlink(missing_ok=True)
    Path(f"{path}.wal").unlink(missing_ok=True)


def _string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
