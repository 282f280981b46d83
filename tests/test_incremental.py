"""Daily partitions and incremental models: a day-by-day build (single days, a backfilled range,
a re-run partition, late and corrected rows) ends in exactly the warehouse a full refresh builds
from the same files.

The comparison covers every table of the raw, staging, intermediate and marts schemas and the
feature Parquet files, row by row (a multiset: duplicates would show). Load times differ by
design, and paths are compared relative to each build's data directory."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from dagster_project.feast_ext.feature_tables import FEATURE_VIEWS, feature_table_path

from conftest import SCENARIO_DAYS, duck, make_settings

# load times of rows, and the identity registry's run times (when an id was assigned or changed)
NONDETERMINISTIC = {"_loaded_at", "first_assigned_at", "changed_at", "merged_at"}
SCHEMAS = ("raw", "staging", "intermediate", "marts")
HELD_BACK_DAYS = 3

pytestmark = pytest.mark.slow  # two builds of a small shop: six pipeline runs


def _run(settings, **kwargs):
    from dagster_project.pipeline import run_pipeline

    result = run_pipeline(settings, **kwargs)
    failures = [e.message for e in result.all_events if e.is_failure]
    assert result.success, f"run {kwargs} failed: {failures[:3]}"
    return result


def _inject_late_and_corrected_rows(landing: Path, days: list[date]) -> dict:
    """The last day's files carry (1) a web event of three days earlier, a few minutes after an
    event of that day (it lands in, and extends, an existing session), and (2) an order of two
    days earlier sent again with a new status (a correction: the later file wins)."""
    last = days[-1]
    late_source = landing / "web" / "events" / f"{last - timedelta(days=3)}.jsonl"
    event = json.loads(late_source.read_text().splitlines()[5])
    event["message_id"] = "late-event-0001"
    event["timestamp"] = event["timestamp"].replace("Z", "").rstrip("Z")
    original_time = event["timestamp"]
    # five minutes later, same cookie: inside the session
    hh, mm = int(original_time[11:13]), int(original_time[14:16])
    minute = hh * 60 + mm + 5
    if minute >= 24 * 60:
        minute = hh * 60 + mm - 5
    event["timestamp"] = f"{original_time[:11]}{minute // 60:02d}:{minute % 60:02d}{original_time[16:]}Z"
    with open(landing / "web" / "events" / f"{last}.jsonl", "a") as f:
        f.write(json.dumps(event) + "\n")

    orders_file = landing / "oms" / "orders" / f"{last - timedelta(days=2)}.csv"
    header, first = orders_file.read_text().splitlines()[:2]
    fields = header.split(",")
    values = first.split(",")
    assert len(values) == len(fields), "the first order line has a comma inside a value; pick another"
    status = fields.index("status")
    values[status] = "cancelled" if values[status] != "cancelled" else "delivered"
    with open(landing / "oms" / "orders" / f"{last}.csv", "a") as f:
        f.write(",".join(values) + "\n")
    return {"late_event": event["message_id"], "late_event_cookie": event["anonymous_id"],
            "corrected_order": values[0], "corrected_status": values[status]}


def _table_diff(a: Path, b: Path, strip_a: str, strip_b: str) -> dict[str, str]:
    """Tables whose rows differ between two warehouses: {table: what differs}."""
    conn = duckdb.connect()
    conn.execute(f"attach '{a}' as a (read_only)")
    conn.execute(f"attach '{b}' as b (read_only)")
    tables = lambda db: {  # noqa: E731
        f"{s}.{t}" for s, t in conn.execute(
            f"select schema_name, table_name from duckdb_tables() where database_name = '{db}' "
            f"and schema_name in {SCHEMAS}"
        ).fetchall()
    }
    ta, tb = tables("a"), tables("b")
    diffs = {t: "missing in the incremental build" for t in ta - tb}
    diffs.update({t: "missing in the full build" for t in tb - ta})
    for table in sorted(ta & tb):
        columns = [r[0] for r in conn.execute(f"describe a.{table}").fetchall() if r[0] not in NONDETERMINISTIC]
        columns_b = [r[0] for r in conn.execute(f"describe b.{table}").fetchall() if r[0] not in NONDETERMINISTIC]
        if columns != columns_b:
            diffs[table] = f"columns differ: {columns} vs {columns_b}"
            continue
        row = lambda db, strip: (  # noqa: E731
            f"select replace(row({', '.join(chr(34) + c + chr(34) for c in columns)})::varchar, '{strip}', '') as r "
            f"from {db}.{table}"
        )
        only_a = conn.execute(f"select r from ({row('a', strip_a)} except all {row('b', strip_b)}) limit 3").fetchall()
        only_b = conn.execute(f"select r from ({row('b', strip_b)} except all {row('a', strip_a)}) limit 3").fetchall()
        if only_a or only_b:
            diffs[table] = f"only in full: {only_a}; only in incremental: {only_b}"
    return diffs


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """The same landing files built twice: once as a full refresh, once day by day."""
    from dagster_project.sample_data.generator import generate

    source = tmp_path_factory.mktemp("incremental_source")
    generate(source / "landing", scale=0.1, seed=11, days=SCENARIO_DAYS)
    days = sorted(date.fromisoformat(p.stem) for p in (source / "landing" / "web" / "events").glob("*.jsonl"))
    held_back = days[-HELD_BACK_DAYS:]
    injected = _inject_late_and_corrected_rows(source / "landing", days)

    full_dir = tmp_path_factory.mktemp("full_build")
    shutil.copytree(source / "landing", full_dir / "landing")
    full = make_settings(full_dir)
    _run(full)  # every partition in one run: a full refresh

    inc_dir = tmp_path_factory.mktemp("incremental_build")
    shutil.copytree(source / "landing", inc_dir / "landing")
    aside = inc_dir / "not_yet_delivered"
    for path in sorted((inc_dir / "landing").rglob("*.*")):
        if path.stem in {str(d) for d in held_back}:
            target = aside / path.relative_to(inc_dir / "landing")
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)

    def deliver(day: date) -> None:
        for path in sorted(aside.rglob(f"{day}.*")):
            target = inc_dir / "landing" / path.relative_to(aside)
            path.rename(target)

    inc = make_settings(inc_dir)
    history = (days[0].isoformat(), (held_back[0] - timedelta(days=1)).isoformat())
    # the history up to the held-back days, as one backfill of the partitioned assets
    _run(inc, job="daily_partitions", partition_range=history)
    # one day on its own, as the nightly schedule runs it
    deliver(held_back[0])
    _run(inc, job="daily_partitions", partition=held_back[0].isoformat())
    # the last two days delivered together and backfilled as one range in one run
    for day in held_back[1:]:
        deliver(day)
    _run(inc, job="daily_partitions", partition_range=(held_back[1].isoformat(), held_back[2].isoformat()))
    # a re-run of an older partition (a retry after later days loaded): nothing may change or duplicate
    _run(inc, job="daily_partitions", partition=held_back[0].isoformat())
    # and the nightly run of the last day, which also rebuilds the unpartitioned models once
    _run(inc, partition=held_back[-1].isoformat())
    return full, inc, injected, held_back


def test_day_by_day_build_equals_full_refresh(builds):
    full, inc, _, _ = builds
    diffs = _table_diff(full.warehouse_path, inc.warehouse_path, str(full.data_dir), str(inc.data_dir))
    assert not diffs, "\n".join(f"{t}: {d}" for t, d in diffs.items())
    with duckdb.connect(str(full.warehouse_path), read_only=True) as conn:
        compared = conn.execute(
            f"select count(*), sum(estimated_size) from duckdb_tables() where schema_name in {SCHEMAS}"
        ).fetchone()
    assert compared[0] > 40 and compared[1] > 10_000


def test_feature_files_are_identical(builds):
    full, inc, _, _ = builds
    for view in FEATURE_VIEWS:
        a, b = feature_table_path(full, view), feature_table_path(inc, view)
        rows = lambda path: duck(f"select t::varchar as r from read_parquet('{path}') t").fetchall()  # noqa: E731
        ra, rb = sorted(rows(a)), sorted(rows(b))
        assert len(ra) > 100
        assert ra == rb, f"{view}: feature rows differ"


def test_late_event_and_correction_are_in_both_builds(builds):
    full, inc, injected, _ = builds
    for settings in (full, inc):
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
            # the late event is staged and joined the cookie's session of its own day
            (event_day,) = conn.execute(
                "select cast(event_at as date) from staging.stg_web__events where event_id = ?", [injected["late_event"]]
            ).fetchone()
            (delivered,) = conn.execute(
                "select _delivery_date from staging.stg_web__events where event_id = ?", [injected["late_event"]]
            ).fetchone()
            assert delivered - event_day == timedelta(days=3)
            (sessions_with_it,) = conn.execute(
                "select count(*) from marts.sessions where anonymous_id = ? and started_at <= "
                "(select event_at from staging.stg_web__events where event_id = ?) and ended_at >= "
                "(select event_at from staging.stg_web__events where event_id = ?)",
                [injected["late_event_cookie"], injected["late_event"], injected["late_event"]],
            ).fetchone()
            assert sessions_with_it == 1
            (status,) = conn.execute(
                "select status from marts.orders where order_id = ?", [injected["corrected_order"]]
            ).fetchone()
            assert status == injected["corrected_status"]


def test_partition_runs_load_only_their_window(builds):
    """The day-by-day build's reconciliation shows each file loaded, and a partition's run
    touched only its delivery window (the files of other days kept their first load time)."""
    _, inc, _, held_back = builds
    with duckdb.connect(str(inc.warehouse_path), read_only=True) as conn:
        loads = dict(
            conn.execute(
                "select regexp_extract(file, '(\\d{4}-\\d{2}-\\d{2})', 1), count(distinct _loaded_at) "
                "from raw.web__events__reconciliation group by 1"
            ).fetchall()
        )
        first_load = conn.execute("select min(_loaded_at) from raw.web__events__reconciliation").fetchone()[0]
        old_days = conn.execute(
            "select count(*), count(*) filter (where _loaded_at = ?) from raw.web__events__reconciliation "
            "where cast(regexp_extract(file, '(\\d{4}-\\d{2}-\\d{2})', 1) as date) < ?",
            [first_load, held_back[0] - timedelta(days=2)],
        ).fetchone()
    assert len(loads) >= 12 and all(n == 1 for n in loads.values())
    assert old_days[0] > 5 and old_days[0] == old_days[1], "files outside every partition window were reloaded"
