"""The steps of one load, in the order `ingest_entity` runs them: land, suppress (rows of people
forgotten), check files, deduplicate, check rows, write (raw, quarantine and reconciliation in one
transaction), report. Each step reads and creates the temp tables its `LoadPlan` names."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

from dagster_project.contracts import SourceEntity
from dagster_project.ingestion.discovery import delivery_date, delivery_day_text
from dagster_project.ingestion.plan import LoadPlan, plan_load
from dagster_project.ingestion.reading import (check_changed_types, land_csv, land_csv_files, land_jsonl,
                                              land_jsonl_files)
from dagster_project.ingestion.results import ContractViolation, FileReconciliation, IngestionResult
from dagster_project.ingestion.tables import literal, quarantine_table_ddl, quote, raw_table_ddl
from dagster_project.ingestion.values import column_checks, typed_expression
from dagster_project.settings import Settings

log = logging.getLogger(__name__)


# Event times later than the run's `now` plus this are quarantined (a clock or time-zone bug).
DEFAULT_FUTURE_TOLERANCE = timedelta(days=1)

# Event times older than this before their file's delivery day (or before `now` for a file not
# named by day) are quarantined: placeholder dates (1970-01-01, 1900-01-01, 0001-01-01) and
# unit errors would otherwise become decades of customer history. Ten years is longer than any
# history an e-commerce source re-delivers; a deployment backfilling older data raises it
# (RCL_EVENT_HORIZON_DAYS).
DEFAULT_EVENT_HORIZON = timedelta(days=3650)


def ingest_entity(
    conn: duckdb.DuckDBPyConnection,
    contract: SourceEntity,
    landing_dir: Path,
    *,
    now: datetime | None = None,
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
    event_horizon: timedelta | None = DEFAULT_EVENT_HORIZON,
    files: list[Path] | None = None,
    settings: Settings | None = None,
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
    before its file's delivery day an event time may lie. `settings` (None: no suppression) gives
    the deployment's suppression list: rows of forgotten people are dropped and counted.

    Raises DeliveriesMissing when the entity's landing folder does not exist, or when a full
    refresh finds no delivery files while the raw tables hold rows; ContractViolation when a file
    cannot be loaded at all. The raw tables are then left as they were."""
    plan = plan_load(conn, contract, landing_dir, now=now, future_tolerance=future_tolerance,
                     event_horizon=event_horizon, files=files)
    result = IngestionResult(entity=contract.name, files=plan.file_names, ignored_files=plan.ignored,
                             full_refresh=not plan.partial)
    conn.execute("set TimeZone = 'UTC'")
    conn.execute("create schema if not exists raw")
    land(conn, plan, result)
    suppress(conn, plan, result, settings)
    check_files(conn, plan, result)
    deduplicate(conn, plan)
    check_rows(conn, plan)
    write(conn, plan)
    report(conn, plan, result)
    return result


# ---------------------------------------------------------------- land

def land(conn, plan: LoadPlan, result: IngestionResult) -> None:
    """`landed`: every file's records as text, each with its physical line (parsed or not).
    Fails the load on a file that cannot be read or whose column changed type."""
    _create_landing_tables(conn, plan)
    # Files land in their own table first (their own checks stay cheap), then join the rest:
    # consecutive plain files (CSV: with one header) in one scan, any other file on its own.
    for files in _runs_of_one_scan(plan):
        conn.execute(f"delete from {plan.landed_file}")
        if len(files) > 1:
            files = _land_files(conn, plan, files, result)
            conn.execute(f"insert into {plan.landed} select * from {plan.landed_file}")
        for path in files:
            conn.execute(f"delete from {plan.landed_file}")
            if not _land_file(conn, plan, path, result):
                result.warnings.append(f"{path.name}: empty file")
                continue
            conn.execute(f"insert into {plan.landed} select * from {plan.landed_file}")
            log.debug("landed %s", path)
    conn.execute(f"drop table {plan.landed_file}")
    check_changed_types(conn, plan.contract, plan.landed)


def _runs_of_one_scan(plan: LoadPlan) -> list[list[Path]]:
    """The plan's files in order, cut into runs of plain, non-empty files (CSV: with the same
    first line); a compressed or empty file is a run of its own."""
    runs: list[list[Path]] = []
    previous = None
    for path in plan.files:
        key = _csv_first_line(path) if plan.contract.format == "csv" else _plain_jsonl(path)
        if key is not None and key == previous:
            runs[-1].append(path)
        else:
            runs.append([path])
        previous = key
    return runs


def _csv_first_line(path: Path) -> bytes | None:
    """A plain CSV file's first line; None for a compressed, empty or unreadable file (landed
    on its own, where its problem is reported)."""
    if path.name.lower().endswith(".gz"):
        return None
    try:
        with open(path, "rb") as f:
            return f.readline() or None
    except OSError:
        return None


def _plain_jsonl(path: Path) -> str | None:
    """Plain, non-empty JSON-lines files land together (None: on its own)."""
    if path.name.lower().endswith(".gz"):
        return None
    try:
        return "jsonl" if path.stat().st_size > 0 else None
    except OSError:
        return None


def _land_files(conn, plan: LoadPlan, files: list[Path], result: IngestionResult) -> list[Path]:
    """A run of plain files (CSV: with one header) in one scan; returns the files to land one by
    one (all of them when the scan fails: each then fails or lands on its own, with its own
    message)."""
    land_together = land_csv_files if plan.contract.format == "csv" else land_jsonl_files
    try:
        return land_together(conn, plan.contract, files, result, plan.landed_file)
    except (duckdb.Error, OSError):
        conn.execute(f"delete from {plan.landed_file}")
        return files


def _create_landing_tables(conn, plan: LoadPlan) -> None:
    landed_columns = ", ".join(f"{quote(c.name)} VARCHAR" for c in plan.contract.columns)
    for table in (plan.landed, plan.landed_file):
        conn.execute(
            f"create or replace temp table {table} ({landed_columns}, _extra_columns VARCHAR, _source_file VARCHAR, "
            f"_source_line BIGINT, _not_parsed VARCHAR, _raw_line VARCHAR)"
        )


def _land_file(conn, plan: LoadPlan, path: Path, result: IngestionResult) -> bool:
    """One file into `landed_file`; False for an empty file (nothing landed)."""
    try:
        if path.stat().st_size == 0:
            return False
        if plan.contract.format == "csv":
            return land_csv(conn, plan.contract, path, result, plan.landed_file)
        return land_jsonl(conn, plan.contract, path, result, plan.landed_file)
    except ContractViolation:
        raise
    except (duckdb.Error, OSError, EOFError) as exc:  # unreadable, truncated gzip, permissions
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ContractViolation(f"{path}: the file cannot be read ({exc.__class__.__name__}: {first_line})") from exc


# ---------------------------------------------------------------- suppress

def suppress(conn, plan: LoadPlan, result: IngestionResult, settings: Settings | None) -> None:
    """`suppressed`: the landed rows that name a person on the suppression list leave `landed`
    before any check (never loaded, never quarantined), counted per file as rows_suppressed."""
    from dagster_project.privacy.suppression import suppress_landed_rows  # privacy imports ingestion's errors

    count = suppress_landed_rows(conn, plan.contract, plan.landed, plan.suppressed, settings)
    if count:
        result.warnings.append(f"{count} row(s) of forgotten people suppressed")


# ---------------------------------------------------------------- check files

def check_files(conn, plan: LoadPlan, result: IngestionResult) -> None:
    """`delivery_files`: each file's delivery day, and a reason when the file as a whole cannot
    be what its name says. The rows of a rejected file are quarantined with that reason (so they
    are counted, and a misnamed file never outranks genuine corrections)."""
    _record_delivery_days(conn, plan)
    if plan.contract.event_time:
        _reject_files_dated_before_their_rows(conn, plan)
    result.rejected_files = dict(
        conn.execute(f"select _source_file, _file_reason from {plan.delivery_files} where _file_reason is not null "
                     "order by 1").fetchall()
    )
    if result.rejected_files:
        conn.execute(
            f"update {plan.landed} set _not_parsed = f._file_reason from {plan.delivery_files} f "
            f"where {plan.landed}._source_file = f._source_file and f._file_reason is not null "
            f"and {plan.landed}._not_parsed is null"
        )
        for path, reason in result.rejected_files.items():
            result.warnings.append(f"{Path(path).name}: every row quarantined: {reason}")


def _record_delivery_days(conn, plan: LoadPlan) -> None:
    """Each file's delivery day from its name; a name that is no real day, or a day in the
    future, rejects the file."""
    limit = plan.future_limit
    rows = []
    for path in plan.files:
        text = delivery_day_text(plan.contract, path)
        day = delivery_date(plan.contract, path)
        reason = None
        if text and day is None:
            reason = f"file date: {text} is not a real date"
        elif day is not None and day > limit.date():
            reason = (f"file date: {day} is in the future (after {limit.date()}); "
                      "a file is named after the day it was delivered")
        rows.append((str(path), day, reason))
    conn.execute(f"create or replace temp table {plan.delivery_files} "
                 "(_source_file VARCHAR, _delivery_date DATE, _file_reason VARCHAR)")
    if rows:
        # one statement: executemany costs a round trip per file
        conn.execute(
            f"insert into {plan.delivery_files} select unnest($1::varchar[]), unnest($2::date[]), unnest($3::varchar[])",
            [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]],
        )


def _reject_files_dated_before_their_rows(conn, plan: LoadPlan) -> None:
    """A file dated before every one of its rows cannot be that day's delivery (a file holds
    rows of its day or, late, of earlier days): its name is wrong."""
    col = plan.contract.column(plan.contract.event_time)
    tolerance_us = int(plan.future_tolerance / timedelta(microseconds=1))
    conn.execute(
        f"""
        update {plan.delivery_files} set _file_reason = 'file date: ' || _delivery_date || ' is before every row''s '
            || {literal(col.name)} || ' (the earliest is ' || strftime(e.earliest, '%Y-%m-%d %H:%M:%S') || ' UTC); '
            || 'a file holds rows of its delivery day or earlier'
        from (
            -- the plain cast, not the full check: an odd value moves the earliest by a day at
            -- most, and the full check would cost as much again as checking every row
            select _source_file, min({typed_expression(col)}) as earliest from {plan.landed}
            where _not_parsed is null group by 1
        ) e
        where {plan.delivery_files}._source_file = e._source_file and _file_reason is null
          and e.earliest >= _delivery_date + interval 1 day + to_microseconds({tolerance_us})
        """
    )


# ---------------------------------------------------------------- deduplicate

def _content(contract: SourceEntity) -> str:
    """The columns whose values make a row's content (for exact-duplicate detection)."""
    return ", ".join([quote(c.name) for c in contract.columns] + ["_extra_columns"])


def deduplicate(conn, plan: LoadPlan) -> None:
    """`duplicate_rows`: exact duplicates (same content, any file); the first occurrence (by
    file, then line) is kept. Candidates are found by grouping on a hash (cheap), then confirmed
    on the real values of those few rows only. Rows of rejected files take no part: their copy
    in a good file must load."""
    content = _content(plan.contract)
    conn.execute(
        f"""
        create or replace temp table {plan.duplicate_rows} as
        with candidates as (
            select hash({content}) as h from {plan.landed} where _not_parsed is null group by 1 having count(*) > 1
        )
        select _source_file, _source_line from (
            select _source_file, _source_line,
                   row_number() over (partition by {content} order by _source_file, _source_line) as copy
            from {plan.landed} where _not_parsed is null and hash({content}) in (select h from candidates)
        ) where copy > 1
        """
    )
    if plan.partial and plan.files:
        _mark_redeliveries_of_earlier_loads(conn, plan)


def _mark_redeliveries_of_earlier_loads(conn, plan: LoadPlan) -> None:
    """A row that repeats one already loaded (or quarantined) from another file is a
    re-delivery too. Only the 64-bit hashes of earlier loads are kept, so they decide."""
    contract = plan.contract
    conn.execute(
        f"""
        insert into {plan.duplicate_rows}
        select _source_file, _source_line from {plan.landed}
        where _not_parsed is null and hash({_content(contract)}) in (
            select _content_hash from {contract.raw_table} where _source_file not in (select unnest($1::varchar[]))
            union all
            select _content_hash from {contract.quarantine_table} where _source_file not in (select unnest($1::varchar[]))
        )
        except select _source_file, _source_line from {plan.duplicate_rows}
        """,
        [plan.file_names],
    )


# ---------------------------------------------------------------- check rows

def check_rows(conn, plan: LoadPlan) -> None:
    """`checked`: every landed row with its reasons (empty: the row is good) and whether it is
    an exact duplicate; then keys repeated inside a file."""
    _check_contract(conn, plan)
    if plan.contract.delivery in ("events", "snapshot"):
        _mark_repeated_keys(conn, plan)


def _contract_checks(plan: LoadPlan) -> list[str]:
    """SQL of every check of the contract's columns; each is a reason or null."""
    contract = plan.contract
    horizon_days = None if plan.event_horizon is None else plan.event_horizon.days
    return [
        check
        for col in contract.columns
        for check in column_checks(
            col,
            future_limit=plan.future_limit if col.name == contract.event_time else None,
            horizon_days=horizon_days if col.name == contract.event_time else None,
            csv_format=contract.format == "csv",
        )
    ]


def _check_contract(conn, plan: LoadPlan) -> None:
    """A line that did not parse, or belongs to a rejected file, gets that one reason; the
    contract's checks run on the others."""
    today = plan.now.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    conn.execute(
        f"""
        create or replace temp table {plan.checked} as
        select * exclude (_horizon_reference, _check_reasons),
               case when _not_parsed is not null then [_not_parsed] else _check_reasons end as _reasons
        from (
            -- the checks run on every row and are picked afterwards: inside the case's else branch
            -- DuckDB evaluates them several times slower (measured 8.6 s against 1.6 s on 800k rows)
            select l.*, list_filter([{', '.join(_contract_checks(plan))}], lambda r: r is not null) as _check_reasons,
                   d._source_line is not null as _is_duplicate,
                   case when _raw_line is not null then hash(_raw_line)
                        when _not_parsed is null then hash({_content(plan.contract)}) end as _content_hash
            from (
                select landed.*, f._delivery_date,
                       coalesce(f._delivery_date::timestamp, timestamp {literal(today)}) as _horizon_reference
                from {plan.landed} landed join {plan.delivery_files} f using (_source_file)
            ) l left join {plan.duplicate_rows} d using (_source_file, _source_line)
        )
        """
    )
    conn.execute(f"drop table {plan.duplicate_rows}")


def _mark_repeated_keys(conn, plan: LoadPlan) -> None:
    """For `events` and `snapshot` deliveries, a key repeated inside one file with other content:
    the later lines are quarantined, naming the first. Same two-step search as for duplicates,
    among otherwise good rows."""
    contract, checked = plan.contract, plan.checked
    pk = ", ".join(f"trim({quote(k)})" for k in contract.primary_key)
    key_text = " || ', ' || ".join(f"coalesce(trim({quote(k)}), '')" for k in contract.primary_key)
    conn.execute(
        f"""
        create or replace temp table {plan.key_candidates} as
        select _source_file, hash({pk}) as h from {checked} where len(_reasons) = 0 and not _is_duplicate
        group by all having count(*) > 1
        """
    )
    if conn.execute(f"select count(*) from {plan.key_candidates}").fetchone()[0]:
        conn.execute(
            f"""
            update {checked} set _reasons = list_append(_reasons,
                'duplicate key {', '.join(contract.primary_key)} ' || k.key_text ||
                ' with different content (first at line ' || k.first_line || ')')
            from (
                with clean as (select * from {checked} where len(_reasons) = 0 and not _is_duplicate),
                candidates as (select * from {plan.key_candidates})
                select clean._source_file, _source_line, {key_text} as key_text,
                       min(_source_line) over (partition by clean._source_file, {pk}) as first_line
                from clean join candidates on clean._source_file = candidates._source_file and hash({pk}) = candidates.h
            ) k
            where {checked}._source_file = k._source_file and {checked}._source_line = k._source_line
              and k.first_line <> k._source_line
            """
        )
    conn.execute(f"drop table {plan.key_candidates}")


# ---------------------------------------------------------------- write and reconcile

def write(conn, plan: LoadPlan) -> None:
    """Raw, quarantine and reconciliation tables in one transaction: a failure leaves all three
    as they were. `reconciliation_new` holds this load's per-file counts afterwards."""
    conn.execute("begin transaction")
    try:
        if plan.partial:
            _replace_rows_of_these_files(conn, plan)
            reconcile(conn, plan, loaded_table=plan.contract.raw_table)
        else:
            _build_tables_afresh(conn, plan)
            reconcile(conn, plan, loaded_table=plan.loading_table)
            _swap_in_loaded_table(conn, plan)
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise


def _raw_rows(plan: LoadPlan) -> str:
    """The good rows of `checked`, typed, in the raw table's layout."""
    typed = ", ".join(f"{typed_expression(c)} as {quote(c.name)}" for c in plan.contract.columns)
    return (
        f"select {typed}, _source_file, _source_line, now()::timestamp, _delivery_date, _content_hash, "
        f"_extra_columns::json from {plan.checked} where not _is_duplicate and len(_reasons) = 0 "
        f"order by _source_file, _source_line"
    )


def _quarantine_rows(plan: LoadPlan) -> str:
    """The bad rows of `checked` with their reasons and the record as delivered."""
    columns = plan.contract.columns
    record = "to_json(struct_pack(" + ", ".join(f"{quote(c.name)} := {quote(c.name)}" for c in columns) + "))"
    return (
        f"select _source_file, _source_line, array_to_string(_reasons, '; '), coalesce(_raw_line, {record}::varchar), "
        f"now()::timestamp, _delivery_date, _content_hash "
        f"from {plan.checked} where not _is_duplicate and len(_reasons) > 0 order by _source_file, _source_line"
    )


def _replace_rows_of_these_files(conn, plan: LoadPlan) -> None:
    """A partial load: the rows of these files only are replaced, the others stay."""
    contract = plan.contract
    conn.execute(raw_table_ddl(contract, contract.raw_table).replace("create or replace table", "create table if not exists"))
    conn.execute(quarantine_table_ddl(contract.quarantine_table).replace("create or replace table", "create table if not exists"))
    for table in (contract.raw_table, contract.quarantine_table):
        conn.execute(f"delete from {table} where _source_file in (select unnest($1::varchar[]))", [plan.file_names])
    conn.execute(f"insert into {contract.raw_table} {_raw_rows(plan)}")
    conn.execute(f"insert into {contract.quarantine_table} {_quarantine_rows(plan)}")


def _build_tables_afresh(conn, plan: LoadPlan) -> None:
    """A full refresh: the raw table is built aside (swapped in at the end), the quarantine anew."""
    conn.execute(raw_table_ddl(plan.contract, plan.loading_table))
    conn.execute(f"insert into {plan.loading_table} {_raw_rows(plan)}")
    conn.execute(quarantine_table_ddl(plan.contract.quarantine_table))
    conn.execute(f"insert into {plan.contract.quarantine_table} {_quarantine_rows(plan)}")


def _swap_in_loaded_table(conn, plan: LoadPlan) -> None:
    conn.execute(f"drop table if exists {plan.contract.raw_table}")
    conn.execute(f"alter table {plan.loading_table} rename to {plan.contract.name}")


def reconcile(conn, plan: LoadPlan, *, loaded_table: str) -> None:
    """Reconciliation per file, kept next to the data: rows read (landed records), loaded and
    quarantined (counted in the tables just written), exact duplicates removed. Runs inside the
    write's transaction."""
    conn.execute(
        f"""
        create or replace temp table {plan.reconciliation} as
        with files as (select unnest($1::varchar[]) as file),
             suppressed as (select _source_file as file, count(*) as n from {plan.suppressed} group by 1),
             checked as (select _source_file as file, count(*) as n,
                                count(*) filter (where _is_duplicate) as dups from {plan.checked} group by 1),
             read as (select file, coalesce(checked.n, 0) + coalesce(suppressed.n, 0) as n,
                             coalesce(checked.dups, 0) as dups, coalesce(suppressed.n, 0) as suppressed
                      from checked full join suppressed using (file)),
             loaded as (select _source_file as file, count(*) as n from {loaded_table}
                        where _source_file in (select file from files) group by 1),
             quarantined as (select _source_file as file, count(*) as n from {plan.contract.quarantine_table}
                             where _source_file in (select file from files) group by 1)
        select file, coalesce(read.n, 0) as rows_read, coalesce(loaded.n, 0) as rows_loaded,
               coalesce(quarantined.n, 0) as rows_quarantined, coalesce(read.dups, 0) as duplicates_removed,
               coalesce(read.n, 0) = coalesce(loaded.n, 0) + coalesce(quarantined.n, 0) + coalesce(read.dups, 0)
                   + coalesce(read.suppressed, 0) as is_reconciled,
               now()::timestamp as _loaded_at, coalesce(read.suppressed, 0) as rows_suppressed
        from files full join read using (file) full join loaded using (file) full join quarantined using (file)
        order by file
        """,
        [plan.file_names],
    )
    table = plan.contract.reconciliation_table
    if plan.partial:
        conn.execute(f"create table if not exists {table} as select * from {plan.reconciliation} limit 0")
        # a table from before suppression existed: the column is added (by name, so at the end)
        conn.execute(f"alter table {table} add column if not exists rows_suppressed BIGINT default 0")
        conn.execute(f"delete from {table} where file in (select unnest($1::varchar[]))", [plan.file_names])
        conn.execute(f"insert into {table} by name select * from {plan.reconciliation}")
    else:
        conn.execute(f"create or replace table {table} as select * from {plan.reconciliation}")


# ---------------------------------------------------------------- report

def report(conn, plan: LoadPlan, result: IngestionResult) -> None:
    """The load's counts, per file and in total, and its reasons grouped by kind into `result`;
    drops the load's temp tables."""
    result.per_file = [
        FileReconciliation(file=f, rows_read=r, rows_loaded=l, rows_quarantined=q, duplicates_removed=d,
                           rows_suppressed=s)
        for f, r, l, q, d, s in conn.execute(
            "select file, rows_read, rows_loaded, rows_quarantined, duplicates_removed, rows_suppressed "
            f"from {plan.reconciliation} order by file"
        ).fetchall()
    ]
    result.rows_suppressed = sum(f.rows_suppressed for f in result.per_file)
    result.rows_read = conn.execute(f"select count(*) from {plan.landed}").fetchone()[0] + result.rows_suppressed
    result.rows_loaded = sum(f.rows_loaded for f in result.per_file)
    result.rows_quarantined = sum(f.rows_quarantined for f in result.per_file)
    result.table_rows = conn.execute(f"select count(*) from {plan.contract.raw_table}").fetchone()[0]
    result.duplicates_removed = sum(f.duplicates_removed for f in result.per_file)
    if result.duplicates_removed:
        result.warnings.append(f"{result.duplicates_removed} exact duplicate row(s) removed")
    result.reasons = _reasons_by_kind(conn, plan)
    for table in (plan.reconciliation, plan.landed, plan.checked, plan.delivery_files, plan.suppressed):
        conn.execute(f"drop table {table}")


def _reasons_by_kind(conn, plan: LoadPlan) -> dict[str, int]:
    """Reasons grouped by their kind (the text before the offending value), so the UI shows a short list."""
    return dict(
        conn.execute(
            f"""
            select regexp_replace(regexp_replace(reason, ': .*? (is|not|has) ', ': … \\1 '),
                                  '^duplicate key (.*?) .* with', 'duplicate key \\1 … with') as kind, count(*)
            from (select unnest(_reasons) as reason from {plan.checked} where not _is_duplicate)
            group by kind order by count(*) desc, kind limit 20
            """
        ).fetchall()
    )
