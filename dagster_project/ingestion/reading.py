"""Landing one file as text in a temp table (the plan's `landed_file`): one row per record, with
the physical line it starts on, or the reason it could not be read. Also the header checks and
the changed-type check that fail a whole file."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

from dagster_project.contracts import SourceEntity
from dagster_project.ingestion.results import ContractViolation, IngestionResult
from dagster_project.ingestion.tables import literal, quote
from dagster_project.ingestion.values import type_problem


LANDED_COLUMNS = ("_extra_columns", "_source_file", "_source_line", "_not_parsed", "_raw_line")
# The temp table mapping a CSV file's logical lines (records and blank lines) to physical ones.
_LINE_MAP = "csv_line_map"

# A column of a file whose non-empty values almost all fail to parse as the contract type has
# changed type in the export: failing the entity with one clear message beats quarantining
# every row. "Almost all" = at least this share of at least this many values.
CHANGED_TYPE_MIN_VALUES = 20
CHANGED_TYPE_SHARE = 0.9
CHANGED_TYPE_SAMPLE = 10_000


def _insert_landed(contract: SourceEntity, table: str) -> str:
    names = [quote(c.name) for c in contract.columns] + list(LANDED_COLUMNS)
    return f"insert into {table} ({', '.join(names)})"


def _compression(path: Path) -> str:
    return "gzip" if path.name.lower().endswith(".gz") else "none"


def _lines_sql(path: Path, *, encoding: str = "utf-8", rejects: bool = True) -> str:
    """A file's lines as text, one row per physical line in file order (a blank line is a row
    with a null `line`). No quoting: this is the file as lines, not as CSV."""
    store = ", store_rejects = true, rejects_table = 'csv_rejects', rejects_scan = 'csv_reject_scans'" if rejects else ""
    return (
        f"read_csv({literal(str(path))}, columns = {{'line': 'VARCHAR'}}, header = false, delim = chr(30), "
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


def land_csv(conn, contract: SourceEntity, path: Path, result: IngestionResult, table: str) -> bool:
    """Land one CSV file in `table`; False for an empty file (nothing landed)."""
    header = _csv_header(path)
    if header is None:
        return False
    _check_header(contract, path, header)
    extra, select, extra_select, columns = _csv_projection(contract, header)
    if extra:
        _note_extra_columns(result, path, extra)
    # The header was read above, so the scan needs no sniffing (sniffing every small daily file
    # costs ~50x the read). Lines that do not parse are kept aside by DuckDB (store_rejects) and
    # quarantined. A single-file scan keeps insertion order, so row_number() over () numbers the
    # records; _assign_physical_lines turns record numbers into line numbers.
    conn.execute("drop table if exists csv_rejects")
    conn.execute("drop table if exists csv_reject_scans")
    parsed = conn.execute(
        f"""
        {_insert_landed(contract, table)}
        select {select}, {extra_select}, {literal(str(path))}, row_number() over () + 1, null, null
        from read_csv({literal(str(path))}, columns = {columns}, header = true, auto_detect = false,
                      delim = ',', quote = '"', escape = '"', compression = '{_compression(path)}',
                      store_rejects = true, rejects_table = 'csv_rejects', rejects_scan = 'csv_reject_scans')
        """
    ).fetchone()[0]
    rejected = _quarantine_rejects(conn, path, "unparseable CSV line", table)
    _assign_physical_lines(conn, path, result, parsed, rejected, table)
    return True


def land_csv_files(conn, contract: SourceEntity, paths: list[Path], result: IngestionResult, table: str) -> list[Path]:
    """Land plain (uncompressed, non-empty) CSV files that share one header in `table` with one
    scan, which costs about what one file's scan costs: a history of daily files is hundreds of
    small files. Returns the files this could not land exactly as `land_csv` would: a file with
    a rejected line, or whose records are not simply one per line after the header (a quoted
    line break, a blank line). Their rows are taken out again; the caller lands each on its own."""
    header = _csv_header(paths[0])  # the files' first lines are the same
    _check_header(contract, paths[0], header)
    extra, select, extra_select, columns = _csv_projection(contract, header)
    file_column = _unused_name(header)
    conn.execute("drop table if exists csv_rejects")
    conn.execute("drop table if exists csv_reject_scans")
    # A multi-file scan keeps the files' order and each file's record order (insertion order),
    # so a record's number in its file is its scan position less its file's first position.
    conn.execute(
        f"""
        {_insert_landed(contract, table)}
        select {select}, {extra_select}, {quote(file_column)},
               _scan_position - min(_scan_position) over (partition by {quote(file_column)}) + 2, null, null
        from (
            select *, row_number() over () as _scan_position
            from read_csv([{", ".join(literal(str(p)) for p in paths)}], columns = {columns}, header = true,
                          auto_detect = false, delim = ',', quote = '"', escape = '"', compression = 'none',
                          filename = {literal(file_column)}, store_rejects = true,
                          rejects_table = 'csv_rejects', rejects_scan = 'csv_reject_scans')
        )
        """
    )
    with_rejects = _files_with_rejects(conn)
    records = dict(conn.execute(f"select _source_file, count(*) from {table} group by 1").fetchall())
    one_by_one = [p for p in paths
                  if str(p) in with_rejects or _count_lines(p) != records.get(str(p), 0) + 1]
    _take_out(conn, table, one_by_one)
    for path in paths:
        if extra and path not in one_by_one:
            _note_extra_columns(result, path, extra)
    return one_by_one


def _csv_projection(contract: SourceEntity, header: list[str]) -> tuple[list[str], str, str, str]:
    """For a CSV header: its columns the contract lacks, the select of the contract's columns
    (null for one the file lacks), the select of the extra columns as one JSON text, and the
    scan's column types (every column read as text)."""
    expected = [c.name for c in contract.columns]
    extra = [h for h in header if h not in expected]
    select = ", ".join(
        (quote(c.name) if c.name in header else "null::varchar") + f" as {quote(c.name)}"
        for c in contract.columns
    )
    extra_select = (
        "json_object(" + ", ".join(f"{literal(h)}, {quote(h)}" for h in extra) + ")::varchar" if extra else "null"
    )
    columns = "{" + ", ".join(f"{literal(name)}: 'VARCHAR'" for name in header) + "}"
    return extra, select, extra_select, columns


def _note_extra_columns(result: IngestionResult, path: Path, extra: list[str]) -> None:
    result.extra_columns[str(path)] = extra
    result.warnings.append(f"{path.name}: column(s) not in the contract kept in _extra_columns: {', '.join(extra)}")


def _files_with_rejects(conn) -> set[str]:
    """The files of the last scan with a line DuckDB's reader rejected."""
    return {r[0] for r in conn.execute(
        "select distinct s.file_path from csv_rejects r join csv_reject_scans s using (scan_id, file_id)"
    ).fetchall()}


def _take_out(conn, table: str, paths: list[Path]) -> None:
    """Remove the rows of `paths` from `table` (they land again one file at a time)."""
    if paths:
        conn.execute(f"delete from {table} where _source_file in (select unnest(?::varchar[]))",
                     [[str(p) for p in paths]])


def _unused_name(header: list[str]) -> str:
    """A column name for the scan's file name that no column of the file has."""
    name = "_rcl_source_file"
    while name in header:
        name = "_" + name
    return name


def _quarantine_rejects(conn, path: Path, kind: str, table: str) -> list[int]:
    """One quarantine row per line DuckDB's reader rejected, numbered as DuckDB numbers it;
    returns those numbers."""
    # DuckDB reports one error per missing column: one reason per line is enough. The text it
    # keeps of a line starts with the blank lines before it, which are not part of the record.
    count = conn.execute(
        f"insert into {table} (_source_file, _source_line, _not_parsed, _raw_line) "
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


def _assign_physical_lines(conn, path: Path, result: IngestionResult, parsed: int, rejected: list[int],
                           table: str) -> None:
    """Give every landed record of a CSV file the physical line it starts on.

    DuckDB numbers a rejected record by "logical line" (records and blank lines, the header
    being 1), and parsed records only by their order. When the file has as many lines as
    records plus the header, both are physical lines. Otherwise (a quoted value spanning lines,
    blank lines, or gzip, whose lines are not counted up front) the file is read once more as
    plain lines: a line starts a logical line when the quotes before it are balanced."""
    records = parsed + len(rejected)
    if _compression(path) == "none" and _count_lines(path) == records + 1:
        if rejected:
            _renumber_after_rejects(conn, path, rejected, table, first_line=2)
        return
    _map_logical_lines(conn, path)
    # Logical lines that hold records: neither the header nor blank.
    record_lines = conn.execute(
        f"select count(*) from {_LINE_MAP} where logical > 1 and not blank"
    ).fetchone()[0]
    if record_lines == records:
        _apply_line_map(conn, path, table)
    else:
        # A file that breaks RFC 4180 quoting in a way the parity cannot follow: keep record
        # numbers, and say so rather than pretend they are lines.
        result.warnings.append(
            f"{path.name}: quoting too irregular to map records to physical lines; "
            "_source_line holds record numbers (header = 1) there"
        )
        if rejected:
            _renumber_after_rejects(conn, path, rejected, table, first_line=2)
    conn.execute(f"drop table {_LINE_MAP}")


# Quote parity of a line `s`: escaped quotes ("") cancel out; a quote counts only at a field's
# start or end, so a stray quote inside an unquoted value (12" screen) changes nothing.
_QUOTES = (
    "(length(s) - length(replace(s, ',\"', ''))) // 2 + (length(s) - length(replace(s, '\",', ''))) // 2"
    " - (length(s) - length(replace(s, ',\",', ''))) // 3"
    " + starts_with(s, '\"')::int + ends_with(s, '\"')::int"
    " - (starts_with(s, '\",') or s = '\"')::int - (ends_with(s, ',\"') and s <> '\"')::int"
)


def _map_logical_lines(conn, path: Path) -> None:
    """`csv_line_map`: the physical line each logical line of the file starts on, and whether
    it is blank."""
    # latin-1: every byte decodes, so lines that are not UTF-8 are counted like the others.
    conn.execute(
        f"""
        create or replace temp table {_LINE_MAP} as
        select physical, row_number() over (order by physical) as logical, blank
        from (
            select physical, blank,
                   coalesce(sum(quotes) over (order by physical rows between unbounded preceding and 1 preceding), 0) % 2 = 0
                       as starts_outside_quotes
            from (
                select row_number() over () as physical, coalesce(line, '') = '' as blank,
                       coalesce(({_QUOTES}), 0) as quotes
                from (select line, replace(line, '""', '') as s from {_lines_sql(path, encoding='latin-1', rejects=False)})
            )
        )
        where starts_outside_quotes
        """
    )


def _apply_line_map(conn, path: Path, table: str) -> None:
    """Rejected records carry their logical line, parsed ones their record number (header = 1):
    both become the physical line the record starts on."""
    conn.execute(
        f"""
        update {table} set _source_line = m.physical
        from (
            select true as is_reject, logical as old_line, physical from {_LINE_MAP}
            union all
            select false, row_number() over (order by logical) + 1, physical from {_LINE_MAP}
            where logical > 1 and not blank and logical not in (select line from csv_rejects)
        ) m
        where {table}._source_file = $1 and m.is_reject = ({table}._not_parsed is not null)
          and m.old_line = {table}._source_line
        """,
        [str(path)],
    )


def _renumber_after_rejects(conn, path: Path, rejected_lines: list[int], table: str, first_line: int = 2) -> None:
    """Record i of the parsed rows sits on the i-th line that was not rejected."""
    conn.execute(
        f"""
        update {table} set _source_line = real.line
        from (
            select row_number() over (order by l) + $4 - 1 as record_line, l as line
            from range($4, (select coalesce(max(_source_line), 0) from {table}
                            where _source_file = $1 and _not_parsed is null) + $2 + 1) t(l)
            where l not in (select unnest($3::bigint[]))
        ) real
        where {table}._source_file = $1 and {table}._not_parsed is null
          and {table}._source_line = real.record_line
        """,
        [str(path), len(rejected_lines), rejected_lines, first_line],
    )


def land_jsonl(conn, contract: SourceEntity, path: Path, result: IngestionResult, table: str) -> bool:
    """Land one JSON-lines file in `table`, a broken line quarantined rather than failing the
    file; always True (an empty file never gets here)."""
    conn.execute("drop table if exists csv_rejects")
    conn.execute("drop table if exists csv_reject_scans")
    lines = (f"select line, row_number() over () as line_number, {literal(str(path))} as _file "
             f"from {_lines_sql(path)}")
    conn.execute(_insert_jsonl(contract, table, lines))
    rejected = _quarantine_rejects(conn, path, "unreadable line", table)
    if rejected:
        _renumber_after_rejects(conn, path, rejected, table, first_line=1)
    _report_extra_keys(conn, path, result, table)
    return True


def land_jsonl_files(conn, contract: SourceEntity, paths: list[Path], result: IngestionResult, table: str) -> list[Path]:
    """Land plain (uncompressed, non-empty) JSON-lines files in `table` with one scan (see
    land_csv_files). Returns the files with a line the reader rejected (not UTF-8): their rows
    are taken out again, and the caller lands each on its own, where lines after the rejected
    one keep their numbers."""
    conn.execute("drop table if exists csv_rejects")
    conn.execute("drop table if exists csv_reject_scans")
    files = ", ".join(literal(str(p)) for p in paths)
    # one row per physical line, in the files' order (see _lines_sql); a line's number in its
    # file is its scan position less its file's first position, plus one
    lines = f"""
        select line, _scan_position - min(_scan_position) over (partition by _file) + 1 as line_number, _file
        from (
            select line, _rcl_source_file as _file, row_number() over () as _scan_position
            from read_csv([{files}], columns = {{'line': 'VARCHAR'}}, header = false, delim = chr(30), quote = '',
                          escape = '', auto_detect = false, compression = 'none', encoding = 'utf-8',
                          filename = '_rcl_source_file', store_rejects = true, rejects_table = 'csv_rejects',
                          rejects_scan = 'csv_reject_scans')
        )
    """
    conn.execute(_insert_jsonl(contract, table, lines))
    with_rejects = _files_with_rejects(conn)
    one_by_one = [p for p in paths if str(p) in with_rejects]
    _take_out(conn, table, one_by_one)
    extra = dict(conn.execute(
        "select _source_file, list(distinct k order by k) from (select _source_file, "
        f"unnest(json_keys(_extra_columns::json)) as k from {table} where _extra_columns is not null) group by 1"
    ).fetchall())
    for path in paths:
        if extra.get(str(path)):
            result.extra_columns[str(path)] = extra[str(path)]
            result.warnings.append(
                f"{path.name}: key(s) not in the contract kept in _extra_columns: {', '.join(extra[str(path)])}")
    return one_by_one


def _insert_jsonl(contract: SourceEntity, table: str, lines: str) -> str:
    """SQL: insert into `table` the records of `lines` (line, line_number, _file: every physical
    line of JSON-lines files)."""
    return f"""
        {_insert_landed(contract, table)}
        select {_jsonl_columns(contract)}, {_JSONL_EXTRA_KEYS}, _file, line_number, problem,
               case when problem is not null then line end
        from (
            select *, case when doc is not null then json_extract(doc, [{_jsonl_paths(contract)}]) end as vals,
                   case when doc is not null then list_filter(json_keys(doc), lambda k: k not in ({_jsonl_known_keys(contract)})) end
                       as extra_keys
            from (
                select case when problem is null then line::json end as doc, problem, line_number, line, _file
                from ({_jsonl_objects(lines)})
            )
        )
    """


def _jsonl_objects(lines: str) -> str:
    """SQL: each non-blank line of `lines` (line, line_number, _file) with its physical line
    number and file and, when it is not one JSON object with each key once, the problem."""
    # Each line is read as text so that one broken object is quarantined instead of failing the
    # file. DuckDB's reader drops a UTF-8 byte order mark at the start of the file and rejects
    # lines with invalid UTF-8 (store_rejects), which are quarantined like broken objects. Blank
    # lines are numbered (line numbers are physical) but are not records.
    lines = f"select ltrim(line, chr(65279)) as line, line_number, _file from ({lines})"
    # A key repeated in an object (at any depth) has two values, and which one a reader takes
    # is the parser's choice: the line is quarantined naming the key.
    # The key lists of the objects with a repeat are found once per line; naming the keys runs
    # only on those lines.
    repeating = (
        "list_filter(list_prepend(json_keys(line), json_keys(line, '$.**')), "
        "lambda ks: len(ks) <> len(list_distinct(ks)))"
    )
    repeated = (
        "list_sort(list_distinct(flatten(list_transform(repeating, "
        "lambda ks: list_filter(ks, lambda k, i: list_position(ks, k) < i)))))"
    )
    return f"""
        select line, line_number, _file,
               case when not is_object then 'line is not a JSON object'
                    when len(repeating) > 0
                    then 'JSON object repeats key(s) ' || array_to_string({repeated}, ', ')
               end as problem
        from (
            select *, case when is_object then {repeating} end as repeating
            from (
                -- case, not and: DuckDB evaluates both sides of and, and json_type fails on bad JSON
                select line, line_number, _file,
                       coalesce(case when json_valid(line) then json_type(line) = 'OBJECT' end, false) as is_object
                from ({lines})
                where trim(line) <> ''
            )
        )
    """


def _jsonl_paths(contract: SourceEntity) -> str:
    # One json_extract with the list of the contract's paths parses each document once (a call
    # per column would parse it once per column); vals[i] is the i-th column's JSON value.
    return ", ".join(literal("$." + c.name) for c in contract.columns)


def _jsonl_known_keys(contract: SourceEntity) -> str:
    return ", ".join(literal(c.name) for c in contract.columns)


def _jsonl_columns(contract: SourceEntity) -> str:
    """SQL: each contract column's value as text, from `vals` (see `_jsonl_paths`)."""
    extracts = []
    for i, c in enumerate(contract.columns, start=1):
        if c.type == "JSON":
            # a JSON null is a missing value, like an absent key
            extracts.append(f"case when vals[{i}] is not null and json_type(vals[{i}]) <> 'NULL' then vals[{i}]::varchar end")
        else:
            extracts.append(f"json_extract_string(vals[{i}], '$')")
    return ", ".join(f"{e} as {quote(c.name)}" for e, c in zip(extracts, contract.columns))


# Keys the contract does not list (schema drift) are kept as one JSON object per row.
_JSONL_EXTRA_KEYS = (
    "case when len(extra_keys) > 0 then to_json(map_from_entries(list_transform(extra_keys, "
    "lambda k: {'key': k, 'value': json_extract(doc, '$.\"' || replace(k, '\"', '\\\"') || '\"')})))::varchar end"
)


def _report_extra_keys(conn, path: Path, result: IngestionResult, table: str) -> None:
    keys = conn.execute(
        "select list(distinct k order by k) from (select unnest(json_keys(_extra_columns::json)) as k "
        f"from {table} where _extra_columns is not null)",
    ).fetchone()[0]
    if keys:
        result.extra_columns[str(path)] = keys
        result.warnings.append(f"{path.name}: key(s) not in the contract kept in _extra_columns: {', '.join(keys)}")


def check_changed_types(conn, contract: SourceEntity, landed: str) -> None:
    """Fail on the first file where a typed column's values almost all fail to parse (a changed
    type). One query over every landed file: a query per file would cost more than the reading
    of hundreds of small daily files.

    Looks at the records on the first CHANGED_TYPE_SAMPLE lines of each file (an export whose
    type changed is wrong from its first row; a file that goes bad later is quarantined row by row)."""
    typed = [c for c in contract.columns if type_problem(c) is not None]
    if not typed:
        return
    parts = []
    for c in typed:
        v = f"nullif(trim({quote(c.name)}), '')"
        bad = f"({type_problem(c)}) is not null"
        parts.append(f"count({v}), count(*) filter (where {bad}), any_value({v}) filter (where {bad})")
    rows = conn.execute(
        f"select _source_file, {', '.join(parts)} from {landed} "
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
