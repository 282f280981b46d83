"""Loading landing files into the warehouse's `raw` schema, enforcing the source contracts.

For one source entity: every landing file is read as text (so that nothing fails to parse
silently), each row is checked against the contract (required values, types, accepted values,
ranges, timestamps with an offset, JSON objects), good rows land typed in
`raw.<system>__<entity>` and bad rows in `raw.<system>__<entity>__quarantine` with their file,
line and reason. A file that lacks a required column fails the entity with a message naming the
file and the column. The raw table is rebuilt from all landing files in one transaction, so a
re-run or retry never duplicates rows and readers never see half a load.

Beyond the per-value rules: event times too far in the future are quarantined, exact duplicate
rows (identical content in the same or another file) are loaded once and counted as
`duplicates_removed`, a repeated primary key with different content inside one file of an
`events`/`snapshot` contract is quarantined (naming the first line), lines that are not valid
UTF-8 are quarantined, columns the contract does not know are kept in `_extra_columns` (JSON) and
warned about, and a file whose header is not comma-separated or whose column has changed type
(almost no value parses) fails the entity with a message naming file and column. Every check is
set-based SQL in DuckDB: nothing runs per row in Python. Reconciliation is per file:
rows read = loaded + quarantined + duplicates removed.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

from dagster_project.contracts import TIMESTAMP_PATTERN, Column, SourceEntity

log = logging.getLogger(__name__)

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
# A landing file's delivery day, from its name.
DELIVERY_DATE_PATTERN = r"(\d{4}-\d{2}-\d{2})\.[A-Za-z]+$"


# Event times later than the run's `now` plus this are quarantined (a clock or time-zone bug).
DEFAULT_FUTURE_TOLERANCE = timedelta(days=1)
# A column of a file whose non-empty values almost all fail to parse as the contract type has
# changed type in the export: failing the entity with one clear message beats quarantining
# every row. "Almost all" = at least this share of at least this many values.
CHANGED_TYPE_MIN_VALUES = 20
CHANGED_TYPE_SHARE = 0.9
CHANGED_TYPE_SAMPLE = 10_000


class ContractViolation(ValueError):
    """A landing file that cannot be loaded at all (e.g. a required column is missing)."""


@dataclass
class FileReconciliation:
    file: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    duplicates_removed: int = 0

    @property
    def is_reconciled(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined + self.duplicates_removed


@dataclass
class IngestionResult:
    entity: str
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    duplicates_removed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    per_file: list[FileReconciliation] = field(default_factory=list)
    # file -> columns/keys found there that the contract does not list (kept in _extra_columns)
    extra_columns: dict[str, list[str]] = field(default_factory=dict)
    # False when only some files were (re)loaded; the counts above are then those files' counts
    full_refresh: bool = True
    # rows in the raw table after the load (all files)
    table_rows: int = 0

    @property
    def is_reconciled(self) -> bool:
        totals = self.rows_read == self.rows_loaded + self.rows_quarantined + self.duplicates_removed
        per_file_sum = (
            sum(f.rows_read for f in self.per_file) == self.rows_read
            and sum(f.rows_loaded for f in self.per_file) == self.rows_loaded
            and sum(f.rows_quarantined for f in self.per_file) == self.rows_quarantined
        )
        return totals and per_file_sum and all(f.is_reconciled for f in self.per_file)

    @property
    def unreconciled_files(self) -> list[str]:
        return [f.file for f in self.per_file if not f.is_reconciled]

    @property
    def quarantine_rate(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def raw_table_ddl(contract: SourceEntity, table: str) -> str:
    columns = [f"{_quote(c.name)} {c.type}" for c in contract.columns]
    columns += [f"{name} {type_}" for name, type_ in (*METADATA_COLUMNS, EXTRA_COLUMNS_COLUMN)]
    return f"create or replace table {table} ({', '.join(columns)})"


def _has_current_layout(conn, contract: SourceEntity) -> bool:
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


# ---------------------------------------------------------------- reading files as text

LANDED_COLUMNS = ("_extra_columns", "_source_file", "_source_line", "_not_parsed", "_raw_line")


def _insert_landed(contract: SourceEntity) -> str:
    names = [_quote(c.name) for c in contract.columns] + list(LANDED_COLUMNS)
    return f"insert into landed_file ({', '.join(names)})"


def _csv_header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        first = f.readline()
    return [name.strip() for name in next(csv.reader([first.lstrip("\ufeff")]), [])]


def _check_header(contract: SourceEntity, path: Path, header: list[str]) -> None:
    expected = [c.name for c in contract.columns]
    if not any(h in expected for h in header):
        raw = ",".join(header)
        for delimiter, label in ((";", "';'"), ("\t", "tab"), ("|", "'|'")):
            if delimiter in raw:
                raise ContractViolation(
                    f"{path}: the header looks {label}-separated ({raw[:120]!r}); landing CSV files "
                    f"must be comma-separated with the columns {', '.join(expected)}"
                )
    missing_required = [c.name for c in contract.columns if c.required and c.name not in header]
    if missing_required:
        raise ContractViolation(
            f"{path}: required column(s) {', '.join(missing_required)} missing from the header "
            f"(found: {', '.join(header)})"
        )


def _reject_reason(kind: str) -> str:
    """SQL for the quarantine reason of a line DuckDB's reader rejected."""
    return (
        "case when bool_or(error_type = 'INVALID ENCODING') then 'line is not valid UTF-8 (wrong encoding)' "
        f"else '{kind}: ' || min(error_message) end"
    )


def _land_csv(conn, contract: SourceEntity, path: Path, result: IngestionResult) -> None:
    header = _csv_header(path)
    _check_header(contract, path, header)
    expected = [c.name for c in contract.columns]
    extra = [h for h in header if h and h not in expected]
    if extra:
        result.extra_columns[str(path)] = extra
        result.warnings.append(
            f"{path.name}: column(s) not in the contract kept in _extra_columns: {', '.join(extra)}"
        )
    select = ", ".join(
        (_quote(c.name) if c.name in header else "null::varchar") + f" as {_quote(c.name)}"
        for c in contract.columns
    )
    extra_select = (
        "json_object(" + ", ".join(f"{_literal(h)}, {_quote(h)}" for h in extra) + ")::varchar" if extra else "null"
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
        {_insert_landed(contract)}
        select {select}, {extra_select}, {_literal(str(path))}, row_number() over () + 1, null, null
        from read_csv({_literal(str(path))}, columns = {columns}, header = true, auto_detect = false,
                      delim = ',', quote = '"', escape = '"', store_rejects = true,
                      rejects_table = 'csv_rejects', rejects_scan = 'csv_reject_scans')
        """
    )
    _quarantine_rejects(conn, path, "unparseable CSV line", first_line=2)


def _quarantine_rejects(conn, path: Path, kind: str, first_line: int) -> None:
    # DuckDB reports one error per missing column: one reason per line is enough.
    rejected = conn.execute("select distinct line from csv_rejects order by line").fetchall()
    if not rejected:
        return
    # Parsed records are numbered by row_number() above; once a line is rejected the record
    # numbers of the lines after it shift, so take the line numbers DuckDB reports instead.
    conn.execute(
        "insert into landed_file (_source_file, _source_line, _not_parsed, _raw_line) "
        f"select ?, line, {_reject_reason(kind)}, any_value(csv_line) "
        "from csv_rejects group by line",
        [str(path)],
    )
    _renumber_after_rejects(conn, path, [r[0] for r in rejected], first_line)


def _renumber_after_rejects(conn, path: Path, rejected_lines: list[int], first_line: int = 2) -> None:
    """Record i of the parsed rows sits on the i-th line that was not rejected."""
    conn.execute(
        """
        update landed_file set _source_line = real.line
        from (
            select row_number() over (order by l) + $4 - 1 as record_line, l as line
            from range($4, (select coalesce(max(_source_line), 0) from landed_file
                            where _source_file = $1 and _not_parsed is null) + $2 + 1) t(l)
            where l not in (select unnest($3::bigint[]))
        ) real
        where landed_file._source_file = $1 and landed_file._not_parsed is null
          and landed_file._source_line = real.record_line
        """,
        [str(path), len(rejected_lines), rejected_lines, first_line],
    )


def _land_jsonl(conn, contract: SourceEntity, path: Path, result: IngestionResult) -> None:
    # Read each line as text so that one broken object is quarantined instead of failing the file.
    # DuckDB's reader drops a UTF-8 byte order mark at the start of the file and rejects lines
    # with invalid UTF-8 (store_rejects), which are quarantined like broken objects.
    conn.execute("drop table if exists csv_rejects")
    conn.execute("drop table if exists csv_reject_scans")
    lines = f"""
        select ltrim(line, chr(65279)) as line, row_number() over () as line_number
        from read_csv({_literal(str(path))}, columns = {{'line': 'VARCHAR'}}, header = false,
                      delim = chr(30), quote = '', escape = '', auto_detect = false, store_rejects = true,
                      rejects_table = 'csv_rejects', rejects_scan = 'csv_reject_scans')
    """
    # One json_extract with the list of the contract's paths parses each document once (a call
    # per column would parse it once per column); vals[i] is the i-th column's JSON value.
    paths = ", ".join(_literal("$." + c.name) for c in contract.columns)
    extracts = []
    for i, c in enumerate(contract.columns, start=1):
        if c.type == "JSON":
            # a JSON null is a missing value, like an absent key
            extracts.append(f"case when vals[{i}] is not null and json_type(vals[{i}]) <> 'NULL' then vals[{i}]::varchar end")
        else:
            extracts.append(f"json_extract_string(vals[{i}], '$')")
    select = ", ".join(f"{e} as {_quote(c.name)}" for e, c in zip(extracts, contract.columns))
    known = ", ".join(_literal(c.name) for c in contract.columns)
    # Keys the contract does not list (schema drift) are kept as one JSON object per row.
    extra = (
        "case when len(extra_keys) > 0 then to_json(map_from_entries(list_transform(extra_keys, "
        "lambda k: {'key': k, 'value': json_extract(doc, '$.\"' || replace(k, '\"', '\\\"') || '\"')})))::varchar end"
    )
    conn.execute(
        f"""
        {_insert_landed(contract)}
        select {select}, {extra}, {_literal(str(path))}, line_number,
               case when not is_object then 'line is not a JSON object' end,
               case when not is_object then line end
        from (
            select *, case when doc is not null then json_extract(doc, [{paths}]) end as vals,
                   case when doc is not null then list_filter(json_keys(doc), lambda k: k not in ({known})) end as extra_keys
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
        )
        """
    )
    _quarantine_rejects(conn, path, "unreadable line", first_line=1)
    keys = conn.execute(
        "select list(distinct k order by k) from (select unnest(json_keys(_extra_columns::json)) as k "
        "from landed_file where _extra_columns is not null)",
    ).fetchone()[0]
    if keys:
        result.extra_columns[str(path)] = keys
        result.warnings.append(f"{path.name}: key(s) not in the contract kept in _extra_columns: {', '.join(keys)}")


def _check_changed_types(conn, contract: SourceEntity, path: Path) -> None:
    """Fail the file when a typed column's values almost all fail to parse (a changed type).

    Looks at the first CHANGED_TYPE_SAMPLE parsed rows of the file (an export whose type changed
    is wrong from its first row; a file that goes bad later is quarantined row by row)."""
    typed = [c for c in contract.columns if c.type not in ("VARCHAR", "JSON")]
    if not typed:
        return
    parts = []
    for c in typed:
        v = f"nullif(trim({_quote(c.name)}), '')"
        target = "timestamptz" if c.is_timestamp else c.type
        bad = f"{v} is not null and try_cast({v} as {target}) is null"
        parts.append(f"count({v}), count(*) filter (where {bad}), any_value({v}) filter (where {bad})")
    row = conn.execute(
        f"select {', '.join(parts)} from (select * from landed_file where _not_parsed is null "
        f"limit {CHANGED_TYPE_SAMPLE})"
    ).fetchone()
    for i, c in enumerate(typed):
        present, bad, example = row[3 * i: 3 * i + 3]
        if present >= CHANGED_TYPE_MIN_VALUES and bad >= CHANGED_TYPE_SHARE * present:
            raise ContractViolation(
                f"{path}: column {c.name} looks like it changed type: {bad} of {present} values are not "
                f"a valid {c.type} (e.g. {example!r}); fix the export or the contract"
            )


# ---------------------------------------------------------------- validating

_SCALAR_JSON_TYPES = "('BIGINT', 'UBIGINT', 'DOUBLE', 'VARCHAR', 'BOOLEAN')"


def _column_checks(col: Column, *, future_limit: datetime | None = None) -> list[str]:
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
        is_object = f"coalesce(case when json_valid({v}) then json_type({v}) = 'OBJECT' end, false)"
        checks.append(f"case when {present} and not {is_object} then '{col.name}: not a JSON object' end")
        if col.scalar_values:
            nested = f"list_filter(json_type({v}, '$.*'), lambda t: t not in {_SCALAR_JSON_TYPES})"
            checks.append(
                f"case when {present} and {is_object} and len({nested}) > 0 then '{col.name}: ' || "
                f"'values must be numbers, strings or booleans, not ' || array_to_string(list_distinct({nested}), '/') end"
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
    if future_limit is not None and col.is_timestamp:
        limit = future_limit.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
        checks.append(
            f"case when {typed} > timestamp {_literal(limit)} "
            f"then '{col.name}: ' || {v} || ' is in the future (after {limit} UTC)' end"
        )
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
    *,
    now: datetime | None = None,
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
    files: list[Path] | None = None,
) -> IngestionResult:
    """Load an entity's landing files into raw.<entity> and its quarantine table.

    files=None (a full refresh) rebuilds both tables from every landing file of the entity.
    A list of files (a daily partition and its look-back days) replaces exactly the rows that
    came from those files and leaves the rest: re-running it changes nothing, and a file that
    was delivered again with more or corrected rows replaces its earlier load. Rows that repeat
    a row already loaded from another file are counted as duplicates, as in a full refresh
    (where the earliest file, then line, keeps a row). When the tables do not exist yet or have
    an older layout, a partial load falls back to a full refresh (`result.full_refresh`).

    `now` (default: the current time) plus `future_tolerance` bounds the contract's event time."""
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    result = IngestionResult(entity=contract.name)
    if files is not None and not _has_current_layout(conn, contract):
        log.warning("%s: no raw table of the current layout yet; loading every file instead", contract.name)
        files = None
    partial = files is not None
    result.full_refresh = not partial
    if partial:
        files = sorted(Path(f) for f in files if Path(f).is_file())
    else:
        folder = Path(landing_dir) / contract.system / contract.entity
        files = sorted(folder.glob(f"*.{contract.extension}")) if folder.is_dir() else []
    result.files = [str(f) for f in files]

    conn.execute("set TimeZone = 'UTC'")
    conn.execute("create schema if not exists raw")
    landed_columns = ", ".join(f"{_quote(c.name)} VARCHAR" for c in contract.columns)
    for table in ("landed", "landed_file"):
        conn.execute(
            f"create or replace temp table {table} ({landed_columns}, _extra_columns VARCHAR, _source_file VARCHAR, "
            f"_source_line BIGINT, _not_parsed VARCHAR, _raw_line VARCHAR)"
        )
    # Each file lands in landed_file first (its own checks stay cheap), then joins the rest.
    for path in files:
        if path.stat().st_size == 0:
            result.warnings.append(f"{path.name}: empty file")
            continue
        conn.execute("delete from landed_file")
        if contract.format == "csv":
            _land_csv(conn, contract, path, result)
        else:
            _land_jsonl(conn, contract, path, result)
        _check_changed_types(conn, contract, path)
        conn.execute("insert into landed select * from landed_file")
        log.info("landed %s", path)
    conn.execute("drop table landed_file")

    future_limit = now + future_tolerance
    checks = [
        check
        for col in contract.columns
        for check in _column_checks(col, future_limit=future_limit if col.name == contract.event_time else None)
    ]
    typed = ", ".join(f"{_typed_expression(c)} as {_quote(c.name)}" for c in contract.columns)
    record = "to_json(struct_pack(" + ", ".join(f"{_quote(c.name)} := {_quote(c.name)}" for c in contract.columns) + "))"
    # Checks only run on parsed lines: a line that did not parse gets that one reason.
    # Exact duplicates (same content, any file) keep their first occurrence. Candidates are found
    # by grouping on a hash (cheap), then confirmed on the real values of those few rows only.
    content_cols = [_quote(c.name) for c in contract.columns] + ["_extra_columns"]
    content = ", ".join(content_cols)
    conn.execute(
        f"""
        create or replace temp table duplicate_rows as
        with candidates as (
            select hash({content}) as h from landed where _not_parsed is null group by 1 having count(*) > 1
        )
        select _source_file, _source_line from (
            select _source_file, _source_line,
                   row_number() over (partition by {content} order by _source_file, _source_line) as copy
            from landed where _not_parsed is null and hash({content}) in (select h from candidates)
        ) where copy > 1
        """
    )
    if partial and files:
        # A row that repeats one already loaded (or quarantined) from another file is a
        # re-delivery too. Only the 64-bit hashes of earlier loads are kept, so they decide.
        conn.execute(
            f"""
            insert into duplicate_rows
            select _source_file, _source_line from landed
            where _not_parsed is null and hash({content}) in (
                select _content_hash from {contract.raw_table} where _source_file not in (select unnest($1::varchar[]))
                union all
                select _content_hash from {contract.quarantine_table} where _source_file not in (select unnest($1::varchar[]))
            )
            except select _source_file, _source_line from duplicate_rows
            """,
            [result.files],
        )
    conn.execute(
        f"""
        create or replace temp table checked as
        select l.*,
               case when _not_parsed is not null then [_not_parsed]
                    else list_filter([{', '.join(checks)}], lambda r: r is not null) end as _reasons,
               d._source_line is not null as _is_duplicate,
               case when _not_parsed is null then hash({content}) else hash(_raw_line) end as _content_hash,
               try_cast(regexp_extract(l._source_file, {_literal(DELIVERY_DATE_PATTERN)}, 1) as date) as _delivery_date
        from landed l left join duplicate_rows d using (_source_file, _source_line)
        """
    )
    conn.execute("drop table duplicate_rows")
    has_candidates = False
    if contract.delivery in ("events", "snapshot"):
        # A key repeated inside one file with other content: the later lines are quarantined,
        # naming the first. Same two-step search as above, among otherwise good rows.
        pk = ", ".join(f"trim({_quote(k)})" for k in contract.primary_key)
        key_text = " || ', ' || ".join(f"coalesce(trim({_quote(k)}), '')" for k in contract.primary_key)
        conn.execute(
            f"""
            create or replace temp table key_candidates as
            select _source_file, hash({pk}) as h from checked where len(_reasons) = 0 and not _is_duplicate
            group by all having count(*) > 1
            """
        )
        has_candidates = conn.execute("select count(*) from key_candidates").fetchone()[0] > 0
    if contract.delivery in ("events", "snapshot") and has_candidates:
        conn.execute(
            f"""
            update checked set _reasons = list_append(_reasons,
                'duplicate key {', '.join(contract.primary_key)} ' || k.key_text ||
                ' with different content (first at line ' || k.first_line || ')')
            from (
                with clean as (select * from checked where len(_reasons) = 0 and not _is_duplicate),
                candidates as (select * from key_candidates)
                select clean._source_file, _source_line, {key_text} as key_text,
                       min(_source_line) over (partition by clean._source_file, {pk}) as first_line
                from clean join candidates on clean._source_file = candidates._source_file and hash({pk}) = candidates.h
            ) k
            where checked._source_file = k._source_file and checked._source_line = k._source_line
              and k.first_line <> k._source_line
            """
        )

    file_list = [result.files]
    raw_rows = (
        f"select {typed}, _source_file, _source_line, now()::timestamp, _delivery_date, _content_hash, "
        f"_extra_columns::json from checked where not _is_duplicate and len(_reasons) = 0 order by _source_file, _source_line"
    )
    quarantine_rows = (
        f"select _source_file, _source_line, array_to_string(_reasons, '; '), coalesce(_raw_line, {record}::varchar), "
        f"now()::timestamp, _delivery_date, _content_hash "
        f"from checked where not _is_duplicate and len(_reasons) > 0 order by _source_file, _source_line"
    )
    staging_table = f"raw.{contract.name}__loading"
    conn.execute("begin transaction")
    try:
        if partial:
            # Replace the rows of these files only, in one transaction with their reconciliation.
            conn.execute(raw_table_ddl(contract, contract.raw_table).replace("create or replace table", "create table if not exists"))
            conn.execute(quarantine_table_ddl(contract.quarantine_table).replace("create or replace table", "create table if not exists"))
            for table in (contract.raw_table, contract.quarantine_table):
                conn.execute(f"delete from {table} where _source_file in (select unnest($1::varchar[]))", file_list)
            conn.execute(f"insert into {contract.raw_table} {raw_rows}")
            conn.execute(f"insert into {contract.quarantine_table} {quarantine_rows}")
            loaded_table = contract.raw_table
        else:
            conn.execute(raw_table_ddl(contract, staging_table))
            conn.execute(f"insert into {staging_table} {raw_rows}")
            conn.execute(quarantine_table_ddl(contract.quarantine_table))
            conn.execute(f"insert into {contract.quarantine_table} {quarantine_rows}")
            loaded_table = staging_table
        # Reconciliation per file, kept next to the data: rows read (landed lines), loaded and
        # quarantined (counted in the tables just written), exact duplicates removed.
        conn.execute(
            f"""
            create or replace temp table reconciliation_new as
            with files as (select unnest($1::varchar[]) as file),
                 read as (select _source_file as file, count(*) as n,
                                 count(*) filter (where _is_duplicate) as dups from checked group by 1),
                 loaded as (select _source_file as file, count(*) as n from {loaded_table}
                            where _source_file in (select file from files) group by 1),
                 quarantined as (select _source_file as file, count(*) as n from {contract.quarantine_table}
                                 where _source_file in (select file from files) group by 1)
            select file, coalesce(read.n, 0) as rows_read, coalesce(loaded.n, 0) as rows_loaded,
                   coalesce(quarantined.n, 0) as rows_quarantined, coalesce(read.dups, 0) as duplicates_removed,
                   coalesce(read.n, 0) = coalesce(loaded.n, 0) + coalesce(quarantined.n, 0) + coalesce(read.dups, 0)
                       as is_reconciled,
                   now()::timestamp as _loaded_at
            from files full join read using (file) full join loaded using (file) full join quarantined using (file)
            order by file
            """,
            file_list,
        )
        if partial:
            conn.execute(
                f"create table if not exists {contract.reconciliation_table} as select * from reconciliation_new limit 0"
            )
            conn.execute(
                f"delete from {contract.reconciliation_table} where file in (select unnest($1::varchar[]))", file_list
            )
            conn.execute(f"insert into {contract.reconciliation_table} select * from reconciliation_new")
        else:
            conn.execute(f"create or replace table {contract.reconciliation_table} as select * from reconciliation_new")
            conn.execute(f"drop table if exists {contract.raw_table}")
            conn.execute(f"alter table {staging_table} rename to {contract.name}")
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise

    result.per_file = [
        FileReconciliation(file=f, rows_read=r, rows_loaded=l, rows_quarantined=q, duplicates_removed=d)
        for f, r, l, q, d in conn.execute(
            "select file, rows_read, rows_loaded, rows_quarantined, duplicates_removed "
            "from reconciliation_new order by file"
        ).fetchall()
    ]
    conn.execute("drop table reconciliation_new")
    result.rows_read = conn.execute("select count(*) from landed").fetchone()[0]
    result.rows_loaded = sum(f.rows_loaded for f in result.per_file)
    result.rows_quarantined = sum(f.rows_quarantined for f in result.per_file)
    result.table_rows = conn.execute(f"select count(*) from {contract.raw_table}").fetchone()[0]
    result.duplicates_removed = sum(f.duplicates_removed for f in result.per_file)
    if result.duplicates_removed:
        result.warnings.append(f"{result.duplicates_removed} exact duplicate row(s) removed")
    # Group reasons by their kind (the text before the offending value) so the UI shows a short list.
    result.reasons = dict(
        conn.execute(
            """
            select regexp_replace(regexp_replace(reason, ': .*? (is|not) ', ': … \\1 '),
                                  '^duplicate key (.*?) .* with', 'duplicate key \\1 … with') as kind, count(*)
            from (select unnest(_reasons) as reason from checked where not _is_duplicate)
            group by kind order by count(*) desc, kind limit 20
            """
        ).fetchall()
    )
    conn.execute("drop table landed")
    conn.execute("drop table checked")
    return result
