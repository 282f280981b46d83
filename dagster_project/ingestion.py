"""Loading landing files into the warehouse's `raw` schema, enforcing the source contracts.

For one source entity: every landing file is read as text (so that nothing fails to parse
silently), each row is checked against the contract (required values, types, accepted values,
ranges, timestamps with an offset, JSON objects), good rows land typed in
`raw.<system>__<entity>` and bad rows in `raw.<system>__<entity>__quarantine` with their file,
line and reason. A file that lacks a required column fails the entity with a message naming the
file and the column. The raw table is rebuilt from all landing files in one transaction, so a
re-run or retry never duplicates rows and readers never see half a load.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project.contracts import TIMESTAMP_PATTERN, Column, SourceEntity

log = logging.getLogger(__name__)

METADATA_COLUMNS = (
    ("_source_file", "VARCHAR"),
    ("_source_line", "BIGINT"),
    ("_loaded_at", "TIMESTAMP"),
)
QUARANTINE_COLUMNS = (
    ("_source_file", "VARCHAR"),
    ("_source_line", "BIGINT"),
    ("reason", "VARCHAR"),
    ("record", "VARCHAR"),
    ("_loaded_at", "TIMESTAMP"),
)


class ContractViolation(ValueError):
    """A landing file that cannot be loaded at all (e.g. a required column is missing)."""


@dataclass
class IngestionResult:
    entity: str
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def is_reconciled(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined

    @property
    def quarantine_rate(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def raw_table_ddl(contract: SourceEntity, table: str) -> str:
    columns = [f"{_quote(c.name)} {c.type}" for c in contract.columns]
    columns += [f"{name} {type_}" for name, type_ in METADATA_COLUMNS]
    return f"create or replace table {table} ({', '.join(columns)})"


def quarantine_table_ddl(table: str) -> str:
    columns = ", ".join(f"{name} {type_}" for name, type_ in QUARANTINE_COLUMNS)
    return f"create or replace table {table} ({columns})"


# ---------------------------------------------------------------- reading files as text

def _csv_header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        first = f.readline()
    return [name.strip() for name in next(csv.reader([first.lstrip("\ufeff")]), [])]


def _land_csv(conn, contract: SourceEntity, path: Path, result: IngestionResult) -> None:
    header = _csv_header(path)
    expected = [c.name for c in contract.columns]
    missing_required = [c.name for c in contract.columns if c.required and c.name not in header]
    if missing_required:
        raise ContractViolation(
            f"{path}: required column(s) {', '.join(missing_required)} missing from the header "
            f"(found: {', '.join(header)})"
        )
    extra = [h for h in header if h not in expected]
    if extra:
        result.warnings.append(f"{path.name}: unexpected column(s) ignored: {', '.join(extra)}")
    select = ", ".join(
        (_quote(c.name) if c.name in header else "null::varchar") + f" as {_quote(c.name)}"
        for c in contract.columns
    )
    # The header was read above, so the scan needs no sniffing (sniffing every small daily file
    # costs ~50x the read). Lines that do not parse are kept aside by DuckDB (store_rejects) and
    # quarantined with their line number. A single-file scan keeps insertion order, so
    # row_number() over () counts records; the header is line 1.
    columns = "{" + ", ".join(f"{_literal(name)}: 'VARCHAR'" for name in header) + "}"
    conn.execute("drop table if exists csv_rejects")
    conn.execute("drop table if exists csv_reject_scans")
    conn.execute(
        f"""
        insert into landed
        select {select}, {_literal(str(path))}, row_number() over () + 1, null, null
        from read_csv({_literal(str(path))}, columns = {columns}, header = true, auto_detect = false,
                      delim = ',', quote = '"', escape = '"', store_rejects = true,
                      rejects_table = 'csv_rejects', rejects_scan = 'csv_reject_scans')
        """
    )
    # DuckDB reports one error per missing column: one reason per line is enough.
    rejected = conn.execute("select distinct line from csv_rejects order by line").fetchall()
    if rejected:
        # Parsed records are numbered by row_number() above; once a line is rejected the record
        # numbers of the lines after it shift, so take the line numbers DuckDB reports instead.
        conn.execute(
            "insert into landed (_source_file, _source_line, _not_parsed, _raw_line) "
            "select ?, line, 'unparseable CSV line: ' || min(error_message), any_value(csv_line) "
            "from csv_rejects group by line",
            [str(path)],
        )
        _renumber_after_rejects(conn, path, [r[0] for r in rejected])


def _renumber_after_rejects(conn, path: Path, rejected_lines: list[int]) -> None:
    """Record i of the parsed rows sits on the i-th line that was not rejected."""
    conn.execute(
        """
        update landed set _source_line = real.line
        from (
            select row_number() over (order by l) + 1 as record_line, l as line
            from range(2, (select max(_source_line) from landed where _source_file = $1) + $2 + 1) t(l)
            where l not in (select unnest($3::bigint[]))
        ) real
        where landed._source_file = $1 and landed._not_parsed is null and landed._source_line = real.record_line
        """,
        [str(path), len(rejected_lines), rejected_lines],
    )


def _land_jsonl(conn, contract: SourceEntity, path: Path, result: IngestionResult) -> None:
    # Read each line as text so that one broken object is quarantined instead of failing the file.
    lines = f"""
        select line, row_number() over () as line_number
        from read_csv({_literal(str(path))}, columns = {{'line': 'VARCHAR'}}, header = false,
                      delim = chr(30), quote = '', escape = '', auto_detect = false)
    """
    extracts = []
    for c in contract.columns:
        path_expr = _literal("$." + c.name)
        if c.type == "JSON":
            # a JSON null is a missing value, like an absent key
            extracts.append(
                f"case when doc is not null and coalesce(json_type(doc, {path_expr}), 'NULL') <> 'NULL' "
                f"then json_extract(doc, {path_expr})::varchar end"
            )
        else:
            extracts.append(f"case when doc is not null then json_extract_string(doc, {path_expr}) end")
    select = ", ".join(f"{e} as {_quote(c.name)}" for e, c in zip(extracts, contract.columns))
    conn.execute(
        f"""
        insert into landed
        select {select}, {_literal(str(path))}, line_number,
               case when not is_object then 'line is not a JSON object' end,
               case when not is_object then line end
        from (
            select case when is_object then line::json end as doc, is_object, line_number, line
            from (
                -- case, not and: DuckDB evaluates both sides of and, and json_type fails on bad JSON
                select line, line_number,
                       coalesce(case when json_valid(line) then json_type(line) = 'OBJECT' end, false) as is_object
                from ({lines})
                where trim(line) <> ''
            )
        )
        """
    )


# ---------------------------------------------------------------- validating

def _column_checks(col: Column) -> list[str]:
    """SQL expressions that evaluate to a reason string when `col` breaks its contract."""
    v = _quote(col.name)
    checks = []
    present = f"nullif(trim({v}), '') is not null"
    if col.required:
        checks.append(f"case when not ({present}) then 'missing required {col.name}' end")
    if col.is_timestamp:
        checks.append(
            f"case when {present} and not regexp_full_match(trim({v}), {_literal(TIMESTAMP_PATTERN)}) "
            f"then '{col.name}: ' || {v} || ' is not an ISO 8601 timestamp with offset' end"
        )
    elif col.type == "JSON":
        checks.append(
            f"case when {present} and not coalesce(case when json_valid({v}) then json_type({v}) = 'OBJECT' end, false) "
            f"then '{col.name}: not a JSON object' end"
        )
    elif col.type != "VARCHAR":
        checks.append(
            f"case when {present} and try_cast(trim({v}) as {col.type}) is null "
            f"then '{col.name}: ' || {v} || ' is not a valid {col.type}' end"
        )
    if col.accepted_values:
        values = ", ".join(_literal(x) for x in col.accepted_values)
        checks.append(
            f"case when {present} and trim({v}) not in ({values}) "
            f"then '{col.name}: ' || {v} || ' is not an accepted value' end"
        )
    typed = _typed_expression(col)
    if col.min_value is not None:
        checks.append(f"case when {typed} < {col.min_value} then '{col.name}: ' || {v} || ' is below {col.min_value:g}' end")
    if col.max_value is not None:
        checks.append(f"case when {typed} > {col.max_value} then '{col.name}: ' || {v} || ' is above {col.max_value:g}' end")
    return checks


def _typed_expression(col: Column) -> str:
    v = f"nullif(trim({_quote(col.name)}), '')"
    if col.is_timestamp:
        return f"(try_cast({v} as timestamptz) at time zone 'UTC')"
    if col.type == "VARCHAR":
        return v
    if col.type == "JSON":
        return f"({v})::json"
    return f"try_cast({v} as {col.type})"


def ingest_entity(
    conn: duckdb.DuckDBPyConnection,
    contract: SourceEntity,
    landing_dir: Path,
) -> IngestionResult:
    """Rebuild raw.<entity> and its quarantine table from every landing file of the entity."""
    result = IngestionResult(entity=contract.name)
    folder = Path(landing_dir) / contract.system / contract.entity
    files = sorted(folder.glob(f"*.{contract.extension}")) if folder.is_dir() else []
    result.files = [str(f) for f in files]

    conn.execute("set TimeZone = 'UTC'")
    conn.execute("create schema if not exists raw")
    landed_columns = ", ".join(f"{_quote(c.name)} VARCHAR" for c in contract.columns)
    conn.execute(
        f"create or replace temp table landed ({landed_columns}, _source_file VARCHAR, "
        f"_source_line BIGINT, _not_parsed VARCHAR, _raw_line VARCHAR)"
    )
    for path in files:
        if path.stat().st_size == 0:
            result.warnings.append(f"{path.name}: empty file")
            continue
        if contract.format == "csv":
            _land_csv(conn, contract, path, result)
        else:
            _land_jsonl(conn, contract, path, result)
        log.info("landed %s", path)

    checks = [check for col in contract.columns for check in _column_checks(col)]
    typed = ", ".join(f"{_typed_expression(c)} as {_quote(c.name)}" for c in contract.columns)
    record = "to_json(struct_pack(" + ", ".join(f"{_quote(c.name)} := {_quote(c.name)}" for c in contract.columns) + "))"
    # Checks only run on parsed lines: a line that did not parse gets that one reason.
    conn.execute(
        f"""
        create or replace temp table checked as
        select *, case when _not_parsed is not null then [_not_parsed]
                       else list_filter([{', '.join(checks)}], lambda r: r is not null) end as _reasons
        from landed
        """
    )

    staging_table = f"raw.{contract.name}__loading"
    conn.execute("begin transaction")
    try:
        conn.execute(raw_table_ddl(contract, staging_table))
        conn.execute(
            f"insert into {staging_table} select {typed}, _source_file, _source_line, now()::timestamp "
            f"from checked where len(_reasons) = 0 order by _source_file, _source_line"
        )
        conn.execute(quarantine_table_ddl(contract.quarantine_table))
        conn.execute(
            f"insert into {contract.quarantine_table} select _source_file, _source_line, "
            f"array_to_string(_reasons, '; '), coalesce(_raw_line, {record}::varchar), now()::timestamp "
            f"from checked where len(_reasons) > 0 order by _source_file, _source_line"
        )
        conn.execute(f"drop table if exists {contract.raw_table}")
        conn.execute(f"alter table {staging_table} rename to {contract.name}")
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise

    result.rows_read = conn.execute("select count(*) from landed").fetchone()[0]
    result.rows_loaded = conn.execute(f"select count(*) from {contract.raw_table}").fetchone()[0]
    result.rows_quarantined = conn.execute(f"select count(*) from {contract.quarantine_table}").fetchone()[0]
    # Group reasons by their kind (the text before the offending value) so the UI shows a short list.
    result.reasons = dict(
        conn.execute(
            """
            select regexp_replace(reason, ': .*? (is|not) ', ': … \\1 ') as kind, count(*)
            from (select unnest(_reasons) as reason from checked)
            group by kind order by count(*) desc, kind limit 20
            """
        ).fetchall()
    )
    conn.execute("drop table landed")
    conn.execute("drop table checked")
    return result
