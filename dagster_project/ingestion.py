"""Loading landing files into the warehouse's `raw` schema, enforcing the source contracts.

For one source entity: the landing folder's delivery files are found (other files are ignored
and listed), every file is read as text (so that nothing fails to parse silently), each row is
checked against the contract, good rows land typed in `raw.<system>__<entity>` and bad rows in
`raw.<system>__<entity>__quarantine` with their file, physical line and reason. A file that
cannot be loaded at all (a required column missing, an empty or repeated header name, a wrong
delimiter, a changed column type, an unreadable file) fails the entity with a
`ContractViolation` naming the file; so does a missing landing folder, or a full refresh that
finds no files where rows were loaded before (the raw table is never replaced by an empty one).
The raw table is rebuilt in one transaction, so a re-run or retry never duplicates rows and
readers never see half a load.

The steps, in order (`ingest_entity`): discover the delivery files; land each file as text
(`landed`, one row per record with its physical line); reject whole files whose name cannot be
their delivery day (`delivery_files`); mark exact duplicates; check every row
(`_column_checks`: values that do not denote exactly one value of the column's type, ranges,
accepted values, event times in the future or beyond the event horizon, repeated keys); write
raw, quarantine and reconciliation tables. Every check is set-based SQL in DuckDB: nothing runs
per row in Python. Reconciliation is per file: rows read = loaded + quarantined + duplicates removed.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb

from dagster_project.contracts import DATE_PATTERN, TIMESTAMP_PATTERN, Column, SourceEntity

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

# Delivery file names per format, compared case-insensitively (exports from Windows tools
# write `.CSV`); `.gz` files are read like plain ones.
DELIVERY_SUFFIXES = {"csv": (".csv", ".csv.gz"), "jsonl": (".jsonl", ".jsonl.gz")}
# Files still being written by an uploader: never read, even if a run starts mid-transfer.
IN_FLIGHT_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".filepart", ".uploading", "~")
_DATE_NAME = re.compile(r"\d{4}-\d{2}-\d{2}")

# Event times later than the run's `now` plus this are quarantined (a clock or time-zone bug).
DEFAULT_FUTURE_TOLERANCE = timedelta(days=1)
# Event times older than this before their file's delivery day (or before `now` for a file not
# named by day) are quarantined: placeholder dates (1970-01-01, 1900-01-01, 0001-01-01) and
# unit errors would otherwise become decades of customer history. Ten years is longer than any
# history an e-commerce source re-delivers; a deployment backfilling older data raises it
# (RCL_EVENT_HORIZON_DAYS).
DEFAULT_EVENT_HORIZON = timedelta(days=3650)
# UTC offsets in use world-wide lie within -12:00..+14:00; anything beyond ±14:00 is a corrupt value.
MAX_OFFSET_MINUTES = 14 * 60
# A column of a file whose non-empty values almost all fail to parse as the contract type has
# changed type in the export: failing the entity with one clear message beats quarantining
# every row. "Almost all" = at least this share of at least this many values.
CHANGED_TYPE_MIN_VALUES = 20
CHANGED_TYPE_SHARE = 0.9
CHANGED_TYPE_SAMPLE = 10_000


class ContractViolation(ValueError):
    """A landing file that cannot be loaded at all (e.g. a required column is missing)."""


class DeliveriesMissing(ContractViolation):
    """The entity's landing folder is missing, or a full refresh found no delivery files where
    rows were loaded before: failing beats replacing the raw table with an empty one."""


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
    # files in the landing folder that are not deliveries (never read) -> why
    ignored_files: dict[str, str] = field(default_factory=dict)
    # delivery files whose rows were all quarantined because of the file itself -> why
    rejected_files: dict[str, str] = field(default_factory=dict)
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


# ---------------------------------------------------------------- finding the delivery files


def landing_folder(contract: SourceEntity, landing_dir: Path) -> Path:
    return Path(landing_dir) / contract.system / contract.entity


def delivery_suffix(contract: SourceEntity, path: Path) -> str | None:
    """The delivery suffix (`.csv`, `.csv.gz`, ...) a file name ends with, in its own case; None
    when it is not a delivery file of this contract's format."""
    name = path.name.lower()
    for suffix in sorted(DELIVERY_SUFFIXES[contract.format], key=len, reverse=True):
        if name.endswith(suffix):
            return path.name[-len(suffix):]
    return None


def delivery_day_text(contract: SourceEntity, path: Path) -> str | None:
    """The `YYYY-MM-DD` a delivery file is named after (valid date or not); None otherwise."""
    suffix = delivery_suffix(contract, path)
    stem = path.name[: -len(suffix)] if suffix else None
    return stem if stem and _DATE_NAME.fullmatch(stem) else None


def delivery_date(contract: SourceEntity, path: Path) -> date | None:
    """The delivery day of a file named `<YYYY-MM-DD>.<ext>`; None for other names (and for a
    name that is not a real date, which ingestion rejects)."""
    text = delivery_day_text(contract, path)
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _ignore_reason(contract: SourceEntity, path: Path) -> str | None:
    name = path.name
    if path.is_dir():
        return "a folder (sub-folders are not read)"
    if name.startswith("._"):
        return "macOS resource fork (._*), not data"
    if name.startswith("."):
        return "hidden file"
    lower = name.lower()
    if lower.endswith(IN_FLIGHT_SUFFIXES):
        return "upload in progress (temporary name)"
    if delivery_suffix(contract, path):
        return None
    others = [s for fmt, suffixes in DELIVERY_SUFFIXES.items() if fmt != contract.format for s in suffixes]
    if lower.endswith(tuple(others)):
        return f"not a {contract.format} file (this source delivers {contract.format})"
    expected = " or ".join(DELIVERY_SUFFIXES[contract.format])
    return f"not a delivery file (expected <YYYY-MM-DD>{expected})"


@dataclass
class Discovery:
    folder: Path
    exists: bool
    files: list[Path] = field(default_factory=list)
    # file -> why it is not read
    ignored: dict[str, str] = field(default_factory=dict)


def discover_deliveries(contract: SourceEntity, landing_dir: Path) -> Discovery:
    """The entity's delivery files (sorted by name) and every other entry of its folder with the
    reason it is not read. One directory listing: cheap with hundreds of daily files."""
    folder = landing_folder(contract, landing_dir)
    if not folder.is_dir():
        return Discovery(folder, exists=False)
    found = Discovery(folder, exists=True)
    for path in sorted(folder.iterdir()):
        reason = _ignore_reason(contract, path)
        if reason:
            found.ignored[str(path)] = reason
        else:
            found.files.append(path)
    return found


# ---------------------------------------------------------------- reading files as text

LANDED_COLUMNS = ("_extra_columns", "_source_file", "_source_line", "_not_parsed", "_raw_line")


def _insert_landed(contract: SourceEntity) -> str:
    names = [_quote(c.name) for c in contract.columns] + list(LANDED_COLUMNS)
    return f"insert into landed_file ({', '.join(names)})"


def _compression(path: Path) -> str:
    return "gzip" if path.name.lower().endswith(".gz") else "none"


def _lines_sql(path: Path, *, encoding: str = "utf-8", rejects: bool = True) -> str:
    """A file's lines as text, one row per physical line in file order (a blank line is a row
    with a null `line`). No quoting: this is the file as lines, not as CSV."""
    store = ", store_rejects = true, rejects_table = 'csv_rejects', rejects_scan = 'csv_reject_scans'" if rejects else ""
    return (
        f"read_csv({_literal(str(path))}, columns = {{'line': 'VARCHAR'}}, header = false, delim = chr(30), "
        f"quote = '', escape = '', auto_detect = false, compression = '{_compression(path)}', "
        f"encoding = '{encoding}'{store})"
    )


def _csv_header(path: Path) -> list[str] | None:
    """The header's column names; None for a file without a first line (empty)."""
    opener = gzip.open if _compression(path) == "gzip" else open
    with opener(path, "rb") as f:
        first = f.readline()
    if not first:
        return None
    text = first.decode("utf-8", errors="replace").lstrip("\ufeff")
    return [name.strip() for name in next(csv.reader(io.StringIO(text)), [])]


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
    # DuckDB would fail on these with an error that names neither the file nor the column.
    for position, name in enumerate(header, start=1):
        if not name:
            raise ContractViolation(
                f"{path}: column {position} of the header has no name (header: {','.join(header)[:200]!r}); "
                "every column needs a name"
            )
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise ContractViolation(
            f"{path}: column(s) {', '.join(repeated)} appear more than once in the header; "
            "which of them holds the value cannot be known"
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


def _land_csv(conn, contract: SourceEntity, path: Path, result: IngestionResult) -> bool:
    """Land one CSV file in landed_file; False for an empty file (nothing landed)."""
    header = _csv_header(path)
    if header is None:
        return False
    _check_header(contract, path, header)
    expected = [c.name for c in contract.columns]
    extra = [h for h in header if h not in expected]
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
    # quarantined. A single-file scan keeps insertion order, so row_number() over () numbers the
    # records; _assign_physical_lines turns record numbers into line numbers.
    columns = "{" + ", ".join(f"{_literal(name)}: 'VARCHAR'" for name in header) + "}"
    conn.execute("drop table if exists csv_rejects")
    conn.execute("drop table if exists csv_reject_scans")
    parsed = conn.execute(
        f"""
        {_insert_landed(contract)}
        select {select}, {extra_select}, {_literal(str(path))}, row_number() over () + 1, null, null
        from read_csv({_literal(str(path))}, columns = {columns}, header = true, auto_detect = false,
                      delim = ',', quote = '"', escape = '"', compression = '{_compression(path)}',
                      store_rejects = true, rejects_table = 'csv_rejects', rejects_scan = 'csv_reject_scans')
        """
    ).fetchone()[0]
    rejected = _quarantine_rejects(conn, path, "unparseable CSV line")
    _assign_physical_lines(conn, path, result, parsed, rejected)
    return True


def _quarantine_rejects(conn, path: Path, kind: str) -> list[int]:
    """One quarantine row per line DuckDB's reader rejected, numbered as DuckDB numbers it;
    returns those numbers."""
    # DuckDB reports one error per missing column: one reason per line is enough. The text it
    # keeps of a line starts with the blank lines before it, which are not part of the record.
    count = conn.execute(
        "insert into landed_file (_source_file, _source_line, _not_parsed, _raw_line) "
        f"select ?, line, {_reject_reason(kind)}, ltrim(any_value(csv_line), chr(13) || chr(10)) "
        "from csv_rejects group by line",
        [str(path)],
    ).fetchone()[0]
    if not count:
        return []
    return [r[0] for r in conn.execute("select distinct line from csv_rejects order by line").fetchall()]


def _count_lines(path: Path) -> int:
    """Physical lines of a plain file (a last line without a newline counts), at memory speed."""
    count, last = 0, b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def _assign_physical_lines(conn, path: Path, result: IngestionResult, parsed: int, rejected: list[int]) -> None:
    """Give every landed record of a CSV file the physical line it starts on.

    DuckDB numbers a rejected record by "logical line" (records and blank lines, the header
    being 1), and parsed records only by their order. When the file has as many lines as
    records plus the header, both are physical lines. Otherwise (a quoted value spanning lines,
    blank lines, or gzip, whose lines are not counted up front) the file is read once more as
    plain lines: a line starts a logical line when the quotes before it are balanced."""
    path_text = str(path)
    records = parsed + len(rejected)
    if _compression(path) == "none" and _count_lines(path) == records + 1:
        if rejected:
            _renumber_after_rejects(conn, path, rejected, first_line=2)
        return
    # Quote parity of each line: escaped quotes ("") cancel out; a quote counts only at a field's
    # start or end, so a stray quote inside an unquoted value (12" screen) changes nothing.
    quotes = (
        "(length(s) - length(replace(s, ',\"', ''))) // 2 + (length(s) - length(replace(s, '\",', ''))) // 2"
        " - (length(s) - length(replace(s, ',\",', ''))) // 3"
        " + starts_with(s, '\"')::int + ends_with(s, '\"')::int"
        " - (starts_with(s, '\",') or s = '\"')::int - (ends_with(s, ',\"') and s <> '\"')::int"
    )
    # latin-1: every byte decodes, so lines that are not UTF-8 are counted like the others.
    conn.execute(
        f"""
        create or replace temp table csv_line_map as
        select physical, row_number() over (order by physical) as logical, blank
        from (
            select physical, blank,
                   coalesce(sum(quotes) over (order by physical rows between unbounded preceding and 1 preceding), 0) % 2 = 0
                       as starts_outside_quotes
            from (
                select row_number() over () as physical, coalesce(line, '') = '' as blank,
                       coalesce(({quotes}), 0) as quotes
                from (select line, replace(line, '""', '') as s from {_lines_sql(path, encoding='latin-1', rejects=False)})
            )
        )
        where starts_outside_quotes
        """
    )
    # Logical lines that hold records: neither the header nor blank.
    record_lines = conn.execute(
        "select count(*) from csv_line_map where logical > 1 and not blank"
    ).fetchone()[0]
    if record_lines != records:
        # A file that breaks RFC 4180 quoting in a way the parity cannot follow: keep record
        # numbers, and say so rather than pretend they are lines.
        result.warnings.append(
            f"{path.name}: quoting too irregular to map records to physical lines; "
            "_source_line holds record numbers (header = 1) there"
        )
        if rejected:
            _renumber_after_rejects(conn, path, rejected, first_line=2)
        conn.execute("drop table csv_line_map")
        return
    conn.execute(
        """
        update landed_file set _source_line = m.physical
        from (
            select true as is_reject, logical as old_line, physical from csv_line_map
            union all
            select false, row_number() over (order by logical) + 1, physical from csv_line_map
            where logical > 1 and not blank and logical not in (select line from csv_rejects)
        ) m
        where landed_file._source_file = $1 and m.is_reject = (landed_file._not_parsed is not null)
          and m.old_line = landed_file._source_line
        """,
        [path_text],
    )
    conn.execute("drop table csv_line_map")


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


def _land_jsonl(conn, contract: SourceEntity, path: Path, result: IngestionResult) -> bool:
    # Read each line as text so that one broken object is quarantined instead of failing the file.
    # DuckDB's reader drops a UTF-8 byte order mark at the start of the file and rejects lines
    # with invalid UTF-8 (store_rejects), which are quarantined like broken objects. Blank lines
    # are numbered (line numbers are physical) but are not records.
    conn.execute("drop table if exists csv_rejects")
    conn.execute("drop table if exists csv_reject_scans")
    lines = f"select ltrim(line, chr(65279)) as line, row_number() over () as line_number from {_lines_sql(path)}"
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
    # A key repeated in an object (at any depth) has two values, and which one a reader takes
    # is the parser's choice: the line is quarantined naming the key.
    objects = "list_prepend(json_keys(line), json_keys(line, '$.**'))"
    repeated = (
        f"list_sort(list_distinct(flatten(list_transform("
        f"list_filter({objects}, lambda ks: len(ks) <> len(list_distinct(ks))), "
        f"lambda ks: list_filter(ks, lambda k, i: list_position(ks, k) < i)))))"
    )
    conn.execute(
        f"""
        {_insert_landed(contract)}
        select {select}, {extra}, {_literal(str(path))}, line_number, problem,
               case when problem is not null then line end
        from (
            select *, case when doc is not null then json_extract(doc, [{paths}]) end as vals,
                   case when doc is not null then list_filter(json_keys(doc), lambda k: k not in ({known})) end as extra_keys
            from (
                select case when problem is null then line::json end as doc, problem, line_number, line
                from (
                    select line, line_number,
                           case when not is_object then 'line is not a JSON object'
                                when len({repeated}) > 0
                                then 'JSON object repeats key(s) ' || array_to_string({repeated}, ', ')
                           end as problem
                    from (
                        -- case, not and: DuckDB evaluates both sides of and, and json_type fails on bad JSON
                        select line, line_number,
                               coalesce(case when json_valid(line) then json_type(line) = 'OBJECT' end, false) as is_object
                        from ({lines})
                        where trim(line) <> ''
                    )
                )
            )
        )
        """
    )
    rejected = _quarantine_rejects(conn, path, "unreadable line")
    if rejected:
        _renumber_after_rejects(conn, path, rejected, first_line=1)
    keys = conn.execute(
        "select list(distinct k order by k) from (select unnest(json_keys(_extra_columns::json)) as k "
        "from landed_file where _extra_columns is not null)",
    ).fetchone()[0]
    if keys:
        result.extra_columns[str(path)] = keys
        result.warnings.append(f"{path.name}: key(s) not in the contract kept in _extra_columns: {', '.join(keys)}")
    return True


def _check_changed_types(conn, contract: SourceEntity) -> None:
    """Fail on the first file where a typed column's values almost all fail to parse (a changed
    type). One query over every landed file: a query per file would cost more than the reading
    of hundreds of small daily files.

    Looks at the records on the first CHANGED_TYPE_SAMPLE lines of each file (an export whose
    type changed is wrong from its first row; a file that goes bad later is quarantined row by row)."""
    typed = [c for c in contract.columns if _type_problem(c) is not None]
    if not typed:
        return
    parts = []
    for c in typed:
        v = f"nullif(trim({_quote(c.name)}), '')"
        bad = f"({_type_problem(c)}) is not null"
        parts.append(f"count({v}), count(*) filter (where {bad}), any_value({v}) filter (where {bad})")
    rows = conn.execute(
        f"select _source_file, {', '.join(parts)} from landed "
        f"where _not_parsed is null and _source_line <= {CHANGED_TYPE_SAMPLE + 1} group by 1 order by 1"
    ).fetchall()
    for file, *counts in rows:
        for i, c in enumerate(typed):
            present, bad, example = counts[3 * i: 3 * i + 3]
            if present >= CHANGED_TYPE_MIN_VALUES and bad >= CHANGED_TYPE_SHARE * present:
                raise ContractViolation(
                    f"{file}: column {c.name} looks like it changed type: {bad} of {present} values are not "
                    f"a valid {c.type} (e.g. {example!r}); fix the export or the contract"
                )


# ---------------------------------------------------------------- validating

_SCALAR_JSON_TYPES = "('BIGINT', 'UBIGINT', 'DOUBLE', 'VARCHAR', 'BOOLEAN')"
_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
_FLOAT_TYPES = {"DOUBLE", "FLOAT", "REAL"}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def _type_problem(col: Column) -> str | None:
    """SQL that is a reason when a present value of `col` does not denote exactly one value of
    its type, and null otherwise (also for an empty value). None for text columns.

    DuckDB's casts are lenient where a contract must not be: they round `1.5` into an INTEGER
    and `12.345` into DECIMAL(12,2), read `1e3` as an integer and `yes`/`t`/`1` as booleans,
    turn hour 24 into the next day and accept any UTC offset. Each type is therefore checked
    on its text first, then cast."""
    v = _quote(col.name)
    t = f"trim({v})"
    name = col.name

    def reason(text: str) -> str:
        return f"'{name}: ' || {v} || {_literal(' ' + text)}"

    def case(*branches: tuple[str, str]) -> str:
        whens = " ".join(f"when {cond} then {reason(text)}" for cond, text in branches)
        return f"case when nullif({t}, '') is null then null {whens} end"

    type_ = col.type.upper()
    if col.is_timestamp:
        offset_hours = f"coalesce(try_cast(regexp_extract({t}, '[+-](\\d{{2}}):?\\d{{2}}$', 1) as integer), 0)"
        offset_minutes = f"coalesce(try_cast(regexp_extract({t}, '[+-]\\d{{2}}:?(\\d{{2}})$', 1) as integer), 0)"
        return case(
            (f"not regexp_full_match({t}, {_literal(TIMESTAMP_PATTERN)})", "is not an ISO 8601 timestamp with offset"),
            # the shape is fixed by the pattern: hh at 12-13, mm at 15-16, optional :ss at 17-19
            (f"substr({t}, 12, 2)::integer > 23 or substr({t}, 15, 2)::integer > 59 "
             f"or (substr({t}, 17, 1) = ':' and substr({t}, 18, 2)::integer > 59)",
             "is not a real time of day (hours 00-23, minutes and seconds 00-59; no leap second)"),
            (f"{offset_minutes} > 59 or {offset_hours} * 60 + {offset_minutes} > {MAX_OFFSET_MINUTES}",
             "has an impossible UTC offset (beyond ±14:00)"),
            (f"try_cast({t} as timestamptz) is null", "is not a real calendar date"),
        )
    if type_ == "DATE":
        return case((f"not regexp_full_match({t}, {_literal(DATE_PATTERN)}) or try_cast({t} as date) is null",
                     "is not a valid DATE (a real date as YYYY-MM-DD)"))
    if type_ in _INTEGER_TYPES:
        return case((f"not regexp_full_match({t}, '[+-]?[0-9]+') or try_cast({t} as {type_}) is null",
                     f"is not a valid {col.type} (a whole number, without decimals or exponent)"))
    decimal = _DECIMAL.fullmatch(type_)
    if decimal:
        scale = int(decimal.group(2))
        return case(
            (f"not regexp_full_match({t}, '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)') or try_cast({t} as {type_}) is null",
             f"is not a valid {col.type}"),
            (f"length(rtrim(regexp_extract({t}, '[.]([0-9]*)$', 1), '0')) > {scale}",
             f"has more than {scale} decimal places (it would be rounded)"),
        )
    if type_ in _FLOAT_TYPES:
        return case((f"try_cast({t} as DOUBLE) is null or not isfinite(try_cast({t} as DOUBLE))",
                     f"is not a valid {col.type} (a finite number)"))
    if type_ == "BOOLEAN":
        return case((f"lower({t}) not in ('true', 'false')", "is not a valid BOOLEAN (true or false)"))
    if type_ in ("VARCHAR", "JSON"):
        return None
    return case((f"try_cast({t} as {type_}) is null", f"is not a valid {col.type}"))


def _column_checks(col: Column, *, future_limit: datetime | None = None, horizon_days: int | None = None,
                   csv_format: bool = False) -> list[str]:
    """SQL expressions that evaluate to a reason string when `col` breaks its contract.
    `horizon_days` bounds how old the value may be before the row's `_delivery_date` (or
    today, for a file not named by day)."""
    v = _quote(col.name)
    checks = []
    present = f"nullif(trim({v}), '') is not null"
    if col.required:
        checks.append(f"case when not ({present}) then 'missing required {col.name}' end")
    problem = _type_problem(col)
    if problem is not None:
        checks.append(problem)
    if col.type == "JSON":
        is_object = f"coalesce(case when json_valid({v}) then json_type({v}) = 'OBJECT' end, false)"
        checks.append(f"case when {present} and not {is_object} then '{col.name}: not a JSON object' end")
        if csv_format:
            # JSONL lines were checked whole for repeated keys when they were read
            objects = f"list_prepend(json_keys({v}), json_keys({v}, '$.**'))"
            checks.append(
                f"case when {present} and {is_object} and "
                f"len(list_filter({objects}, lambda ks: len(ks) <> len(list_distinct(ks)))) > 0 "
                f"then '{col.name}: JSON object repeats a key' end"
            )
        if col.scalar_values:
            nested = f"list_filter(json_type({v}, '$.*'), lambda t: t not in {_SCALAR_JSON_TYPES})"
            checks.append(
                f"case when {present} and {is_object} and len({nested}) > 0 then '{col.name}: ' || "
                f"'values must be numbers, strings or booleans, not ' || array_to_string(list_distinct({nested}), '/') end"
            )
    if col.accepted_values:
        values = ", ".join(_literal(x) for x in col.accepted_values)
        checks.append(
            f"case when {present} and trim({v}) not in ({values}) "
            f"then '{col.name}: ' || {v} || ' is not an accepted value' end"
        )
    typed = _typed_expression(col)
    valid = f"({problem}) is null" if problem is not None else "true"
    if col.min_value is not None:
        checks.append(f"case when {valid} and {typed} < {col.min_value} then '{col.name}: ' || {v} || ' is below {col.min_value:g}' end")
    if col.max_value is not None:
        checks.append(f"case when {valid} and {typed} > {col.max_value} then '{col.name}: ' || {v} || ' is above {col.max_value:g}' end")
    if future_limit is not None and col.is_timestamp:
        limit = future_limit.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
        checks.append(
            f"case when {valid} and {typed} > timestamp {_literal(limit)} "
            f"then '{col.name}: ' || {v} || ' is in the future (after {limit} UTC)' end"
        )
    if horizon_days is not None and col.is_timestamp:
        start = f"(_horizon_reference - interval {int(horizon_days)} day)"
        checks.append(
            f"case when {valid} and {typed} < {start} "
            f"then '{col.name}: ' || {v} || ' is older than the event horizon ({int(horizon_days)} days before ' "
            f"|| _horizon_reference::date || ')' end"
        )
    return checks


def _typed_expression(col: Column) -> str:
    v = f"nullif(trim({_quote(col.name)}), '')"
    if col.is_timestamp:
        return f"(try_cast({v} as timestamptz) at time zone 'UTC')"
    if col.type == "VARCHAR":
        if col.accepted_values:
            return v  # a code: checked, and loaded, without the padding around it
        # Free text keeps its own whitespace; a value of only whitespace is empty (null).
        return f"case when {v} is not null then {_quote(col.name)} end"
    if col.type == "JSON":
        return f"({v})::json"
    return f"try_cast({v} as {col.type})"


# ---------------------------------------------------------------- the steps of a load


def _refuse_empty_refresh(conn, contract: SourceEntity, discovery: Discovery) -> None:
    """A full refresh that finds no delivery files must not empty a table that holds rows."""
    exists = conn.execute(
        "select count(*) from information_schema.tables where table_schema = 'raw' and table_name in (?, ?)",
        [contract.name, f"{contract.name}__quarantine"],
    ).fetchone()[0]
    if exists < 2:
        return
    loaded = conn.execute(
        f"select (select count(*) from {contract.raw_table}) + (select count(*) from {contract.quarantine_table})"
    ).fetchone()[0]
    if loaded:
        ignored = f"; not deliveries there: {', '.join(Path(f).name for f in discovery.ignored)}" if discovery.ignored else ""
        raise DeliveriesMissing(
            f"{discovery.folder}: no delivery files ({' or '.join(DELIVERY_SUFFIXES[contract.format])}) found, but "
            f"{contract.raw_table} and its quarantine hold {loaded} rows from earlier deliveries; a full refresh "
            f"would replace them with an empty table, so {contract.raw_table} is left as it was. Restore the "
            f"files (moved or archived?) or drop the table on purpose{ignored}"
        )


def _create_landing_tables(conn, contract: SourceEntity) -> None:
    landed_columns = ", ".join(f"{_quote(c.name)} VARCHAR" for c in contract.columns)
    for table in ("landed", "landed_file"):
        conn.execute(
            f"create or replace temp table {table} ({landed_columns}, _extra_columns VARCHAR, _source_file VARCHAR, "
            f"_source_line BIGINT, _not_parsed VARCHAR, _raw_line VARCHAR)"
        )


def _land_files(conn, contract: SourceEntity, files: list[Path], result: IngestionResult) -> None:
    """Every file's records into `landed`, each with its physical line (parsed or not)."""
    # Each file lands in landed_file first (its own checks stay cheap), then joins the rest.
    for path in files:
        conn.execute("delete from landed_file")
        try:
            if path.stat().st_size == 0:
                landed = False
            elif contract.format == "csv":
                landed = _land_csv(conn, contract, path, result)
            else:
                landed = _land_jsonl(conn, contract, path, result)
        except ContractViolation:
            raise
        except (duckdb.Error, OSError, EOFError) as exc:  # unreadable, truncated gzip, permissions
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ContractViolation(f"{path}: the file cannot be read ({exc.__class__.__name__}: {first_line})") from exc
        if not landed:
            result.warnings.append(f"{path.name}: empty file")
            continue
        conn.execute("insert into landed select * from landed_file")
        log.debug("landed %s", path)
    conn.execute("drop table landed_file")
    _check_changed_types(conn, contract)


def _reject_files(conn, contract: SourceEntity, files: list[Path], result: IngestionResult,
                  now: datetime, future_tolerance: timedelta) -> None:
    """`delivery_files`: each file's delivery day, and a reason when the file as a whole cannot
    be what its name says. The rows of a rejected file are quarantined with that reason (so they
    are counted, and a misnamed file never outranks genuine corrections)."""
    limit = now + future_tolerance
    rows = []
    for path in files:
        text = delivery_day_text(contract, path)
        day = delivery_date(contract, path)
        reason = None
        if text and day is None:
            reason = f"file date: {text} is not a real date"
        elif day is not None and day > limit.date():
            reason = (f"file date: {day} is in the future (after {limit.date()}); "
                      "a file is named after the day it was delivered")
        rows.append((str(path), day, reason))
    conn.execute("create or replace temp table delivery_files "
                 "(_source_file VARCHAR, _delivery_date DATE, _file_reason VARCHAR)")
    if rows:
        # one statement: executemany costs a round trip per file
        conn.execute(
            "insert into delivery_files select unnest($1::varchar[]), unnest($2::date[]), unnest($3::varchar[])",
            [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]],
        )
    if contract.event_time:
        # A file dated before every one of its rows cannot be that day's delivery (a file holds
        # rows of its day or, late, of earlier days): its name is wrong.
        col = contract.column(contract.event_time)
        problem = _type_problem(col)
        conn.execute(
            f"""
            update delivery_files set _file_reason = 'file date: ' || _delivery_date || ' is before every row''s '
                || {_literal(col.name)} || ' (the earliest is ' || strftime(e.earliest, '%Y-%m-%d %H:%M:%S') || ' UTC); '
                || 'a file holds rows of its delivery day or earlier'
            from (
                select _source_file, min({_typed_expression(col)}) as earliest from landed
                where _not_parsed is null and ({problem}) is null group by 1
            ) e
            where delivery_files._source_file = e._source_file and _file_reason is null
              and e.earliest >= _delivery_date + interval 1 day + to_microseconds({int(future_tolerance / timedelta(microseconds=1))})
            """
        )
    result.rejected_files = dict(
        conn.execute("select _source_file, _file_reason from delivery_files where _file_reason is not null "
                     "order by 1").fetchall()
    )
    if result.rejected_files:
        conn.execute(
            "update landed set _not_parsed = f._file_reason from delivery_files f "
            "where landed._source_file = f._source_file and f._file_reason is not null and landed._not_parsed is null"
        )
        for path, reason in result.rejected_files.items():
            result.warnings.append(f"{Path(path).name}: every row quarantined: {reason}")


def _content(contract: SourceEntity) -> str:
    """The columns whose values make a row's content (for exact-duplicate detection)."""
    return ", ".join([_quote(c.name) for c in contract.columns] + ["_extra_columns"])


def _mark_duplicates(conn, contract: SourceEntity, result: IngestionResult, partial: bool) -> None:
    """`duplicate_rows`: exact duplicates (same content, any file); the first occurrence (by
    file, then line) is kept. Candidates are found by grouping on a hash (cheap), then confirmed
    on the real values of those few rows only. Rows of rejected files take no part: their copy
    in a good file must load."""
    content = _content(contract)
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
    if partial and result.files:
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


def _check_rows(conn, contract: SourceEntity, now: datetime, future_tolerance: timedelta,
                event_horizon: timedelta | None) -> None:
    """`checked`: every landed row with its reasons (empty: the row is good) and whether it is
    an exact duplicate. A line that did not parse, or belongs to a rejected file, gets that one
    reason; the contract's checks run on the others."""
    horizon_days = None if event_horizon is None else event_horizon.days
    checks = [
        check
        for col in contract.columns
        for check in _column_checks(
            col,
            future_limit=now + future_tolerance if col.name == contract.event_time else None,
            horizon_days=horizon_days if col.name == contract.event_time else None,
            csv_format=contract.format == "csv",
        )
    ]
    today = now.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    conn.execute(
        f"""
        create or replace temp table checked as
        select l.* exclude (_horizon_reference),
               case when _not_parsed is not null then [_not_parsed]
                    else list_filter([{', '.join(checks)}], lambda r: r is not null) end as _reasons,
               d._source_line is not null as _is_duplicate,
               case when _raw_line is not null then hash(_raw_line)
                    when _not_parsed is null then hash({_content(contract)}) end as _content_hash
        from (
            select landed.*, f._delivery_date,
                   coalesce(f._delivery_date::timestamp, timestamp {_literal(today)}) as _horizon_reference
            from landed join delivery_files f using (_source_file)
        ) l left join duplicate_rows d using (_source_file, _source_line)
        """
    )
    conn.execute("drop table duplicate_rows")


def _mark_repeated_keys(conn, contract: SourceEntity) -> None:
    """For `events` and `snapshot` deliveries, a key repeated inside one file with other content:
    the later lines are quarantined, naming the first. Same two-step search as for duplicates,
    among otherwise good rows."""
    if contract.delivery not in ("events", "snapshot"):
        return
    pk = ", ".join(f"trim({_quote(k)})" for k in contract.primary_key)
    key_text = " || ', ' || ".join(f"coalesce(trim({_quote(k)}), '')" for k in contract.primary_key)
    conn.execute(
        f"""
        create or replace temp table key_candidates as
        select _source_file, hash({pk}) as h from checked where len(_reasons) = 0 and not _is_duplicate
        group by all having count(*) > 1
        """
    )
    if conn.execute("select count(*) from key_candidates").fetchone()[0]:
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
    conn.execute("drop table key_candidates")


def _write_tables(conn, contract: SourceEntity, result: IngestionResult, partial: bool) -> None:
    """Raw, quarantine and reconciliation tables in one transaction; `reconciliation_new` holds
    this load's per-file counts afterwards."""
    typed = ", ".join(f"{_typed_expression(c)} as {_quote(c.name)}" for c in contract.columns)
    record = "to_json(struct_pack(" + ", ".join(f"{_quote(c.name)} := {_quote(c.name)}" for c in contract.columns) + "))"
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
        # Reconciliation per file, kept next to the data: rows read (landed records), loaded and
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


def _collect_results(conn, contract: SourceEntity, result: IngestionResult) -> None:
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
            select regexp_replace(regexp_replace(reason, ': .*? (is|not|has) ', ': … \\1 '),
                                  '^duplicate key (.*?) .* with', 'duplicate key \\1 … with') as kind, count(*)
            from (select unnest(_reasons) as reason from checked where not _is_duplicate)
            group by kind order by count(*) desc, kind limit 20
            """
        ).fetchall()
    )
    for table in ("landed", "checked", "delivery_files"):
        conn.execute(f"drop table {table}")


def ingest_entity(
    conn: duckdb.DuckDBPyConnection,
    contract: SourceEntity,
    landing_dir: Path,
    *,
    now: datetime | None = None,
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
    event_horizon: timedelta | None = DEFAULT_EVENT_HORIZON,
    files: list[Path] | None = None,
) -> IngestionResult:
    """Load an entity's landing files into raw.<entity> and its quarantine table.

    files=None (a full refresh) rebuilds both tables from every delivery file of the entity.
    A list of files (a daily partition and its look-back days) replaces exactly the rows that
    came from those files and leaves the rest: re-running it changes nothing, and a file that
    was delivered again with more or corrected rows replaces its earlier load. Rows that repeat
    a row already loaded from another file are counted as duplicates, as in a full refresh
    (where the earliest file, then line, keeps a row). When the tables do not exist yet or have
    an older layout, a partial load falls back to a full refresh (`result.full_refresh`).

    `now` (default: the current time) plus `future_tolerance` bounds the contract's event time
    and the delivery day a file may be named after; `event_horizon` (None: no bound) how far
    before its file's delivery day an event time may lie.

    Raises DeliveriesMissing when the entity's landing folder does not exist, or when a full
    refresh finds no delivery files while the raw tables hold rows; ContractViolation when a file
    cannot be loaded at all. The raw tables are then left as they were."""
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    result = IngestionResult(entity=contract.name)
    discovery = discover_deliveries(contract, landing_dir)
    if not discovery.exists:
        raise DeliveriesMissing(
            f"{contract.name}: no landing folder {discovery.folder}; create it (it may stay empty until the "
            f"source delivers) or point RCL_LANDING_DIR at the landing area that has it"
        )
    result.ignored_files = discovery.ignored
    for path, reason in discovery.ignored.items():
        log.info("%s: not read (%s)", path, reason)
    if files is not None and not _has_current_layout(conn, contract):
        log.warning("%s: no raw table of the current layout yet; loading every file instead", contract.name)
        files = None
    partial = files is not None
    result.full_refresh = not partial
    if partial:
        files = sorted(Path(f) for f in files if Path(f).is_file())
    else:
        files = discovery.files
        if not files:
            _refuse_empty_refresh(conn, contract, discovery)
    result.files = [str(f) for f in files]

    conn.execute("set TimeZone = 'UTC'")
    conn.execute("create schema if not exists raw")
    _create_landing_tables(conn, contract)
    _land_files(conn, contract, files, result)
    _reject_files(conn, contract, files, result, now, future_tolerance)
    _mark_duplicates(conn, contract, result, partial)
    _check_rows(conn, contract, now, future_tolerance, event_horizon)
    _mark_repeated_keys(conn, contract)
    _write_tables(conn, contract, result, partial)
    _collect_results(conn, contract, result)
    return result
