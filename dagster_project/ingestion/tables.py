"""The layout of the raw, quarantine and reconciliation tables, and SQL quoting."""

from __future__ import annotations

from dagster_project.contracts import SourceEntity


METADATA_COLUMNS = (
    ("_source_file", "VARCHAR"),
    ("_source_line", "BIGINT"),
    ("_loaded_at", "TIMESTAMP"),
    # The day the source delivered the file (its name, <YYYY-MM-DD>.<ext>): the daily partition
    # a row belongs to. Null for a file named otherwise (loaded by full refreshes only).
    ("_delivery_date", "DATE"),
    # hash of the row's text as delivered: finds exact re-deliveries across files and runs
    ("_content_hash", "UBIGINT"),
)

# Columns a file carries that the contract does not list (schema drift), kept per row as JSON.
EXTRA_COLUMNS_COLUMN = ("_extra_columns", "JSON")
QUARANTINE_COLUMNS = (
    ("_source_file", "VARCHAR"),
    ("_source_line", "BIGINT"),
    ("reason", "VARCHAR"),
    ("record", "VARCHAR"),
    ("_loaded_at", "TIMESTAMP"),
    ("_delivery_date", "DATE"),
    ("_content_hash", "UBIGINT"),
)


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def raw_table_ddl(contract: SourceEntity, table: str) -> str:
    columns = [f"{quote(c.name)} {c.type}" for c in contract.columns]
    columns += [f"{name} {type_}" for name, type_ in (*METADATA_COLUMNS, EXTRA_COLUMNS_COLUMN)]
    return f"create or replace table {table} ({', '.join(columns)})"


def has_current_layout(conn, contract: SourceEntity) -> bool:
    """Whether raw.<entity> and its quarantine and reconciliation tables exist with today's columns."""
    expected = [c.name for c in contract.columns] + [n for n, _ in (*METADATA_COLUMNS, EXTRA_COLUMNS_COLUMN)]
    rows = conn.execute(
        "select table_name, list(column_name order by ordinal_position) from information_schema.columns "
        "where table_schema = 'raw' and table_name in (?, ?, ?) group by table_name",
        [contract.name, f"{contract.name}__quarantine", f"{contract.name}__reconciliation"],
    ).fetchall()
    found = dict(rows)
    return (
        found.get(contract.name) == expected
        and found.get(f"{contract.name}__quarantine") == [n for n, _ in QUARANTINE_COLUMNS]
        and f"{contract.name}__reconciliation" in found
    )


def quarantine_table_ddl(table: str) -> str:
    columns = ", ".join(f"{name} {type_}" for name, type_ in QUARANTINE_COLUMNS)
    return f"create or replace table {table} ({columns})"
