"""Build figures: build_vs_sql_ratio, orchestration_overhead_ratio, peak_rss_gib.

* build_vs_sql_ratio: the build through Dagster (job of every asset but the Feast ones:
  13 ingestion assets with their checks, the two dbt assets = `dbt build` of models and tests,
  the blocking Great Expectations checks; the feature Parquet files are dbt external models),
  on a fresh warehouse each run, vs bench.baseline's one SQL script on a fresh warehouse. Timed:
  job.execute_in_process only (definitions built and the dbt manifest parsed once beforehand,
  as a deployed code location has them). The feature tables' row counts must match.
* orchestration_overhead_ratio: the dbt assets alone (dbt models + dbt tests as checks, no GX)
  through Dagster + dagster-dbt vs plain `dbt build --target-path <tmp>` with the same
  environment, each run starting from the same raw-only warehouse copy, partial-parse state
  copied into the plain run's target dir as dagster-dbt does for its own.
* peak_rss_gib: `python -m bench.build --peak-rss-child DIR` (the whole full_pipeline job, as
  `make demo` runs it: ingestion, dbt, GX, feast apply + materialize to SQLite) under
  /usr/bin/time -v while a thread polls the process tree (psutil, every 50 ms); the larger of
  the tree's summed RSS and GNU time's max RSS is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.common import TreeRss, log, make_settings, run_with_peak_rss, step_peaks

FEATURE_FILES = ("customer_features", "product_features")


def bench_jobs(settings):
    """Definitions of the project plus two bench jobs: 'bench_build' (all but Feast) and
    'bench_dbt' (the dbt asset and its dbt-test checks only)."""
    import dagster as dg

    from dagster_project.defs import build_defs

    defs = build_defs(settings)
    dbt_assets = [a for a in defs.assets if getattr(a, "op", None) is not None
                  and a.op.name.startswith("dbt_")]
    gx_checks = list(defs.asset_checks or [])
    build_job = dg.define_asset_job("bench_build", selection=dg.AssetSelection.all() - dg.AssetSelection.groups("feast"))
    dbt_job = dg.define_asset_job(
        "bench_dbt", selection=dg.AssetSelection.assets(*dbt_assets) - dg.AssetSelection.checks(*gx_checks))
    merged = dg.Definitions.merge(defs, dg.Definitions(jobs=[build_job, dbt_job]))
    return FullRange(merged.resolve_job_def("bench_build")), FullRange(merged.resolve_job_def("bench_dbt"))


class FullRange:
    """A job whose execute_in_process runs over every daily partition in one run (a full build)."""

    def __init__(self, job_def):
        from dagster_project.pipeline import partition_range_tags

        self.job_def = job_def
        self.tags = partition_range_tags(job_def)

    def execute_in_process(self, **kwargs):
        return self.job_def.execute_in_process(tags=self.tags, **kwargs)


def reset_outputs(settings) -> None:
    for path in (settings.warehouse_path, Path(str(settings.warehouse_path) + ".wal")):
        path.unlink(missing_ok=True)
    shutil.rmtree(settings.features_dir, ignore_errors=True)
    shutil.rmtree(settings.data_dir / "validation", ignore_errors=True)


def parquet_rows(features_dir: Path) -> dict:
    import pyarrow.parquet as pq

    return {name: pq.ParquetFile(Path(features_dir) / f"{name}.parquet").metadata.num_rows for name in FEATURE_FILES}


def _failures(result) -> list[str]:
    out = [e.message for e in result.all_events if e.is_failure][:3]
    out += [f"check failed: {e.check_name}" for e in result.get_asset_check_evaluations() if not e.passed][:5]
    return out


def measure_build_vs_sql(settings, runs: int, work_dir: Path, profile: bool = False) -> dict:
    from bench import baseline
    from dagster_project.defs.project import ensure_manifest

    t = time.perf_counter()
    ensure_manifest(settings, refresh=True)
    parse_seconds = time.perf_counter() - t
    build_job, _ = bench_jobs(settings)
    models = baseline.compile_models(work_dir / "compile", env={**os.environ, **settings.env()})
    script = baseline.build_script(models, settings.landing_dir, work_dir / "baseline" / "features")
    (work_dir / "baseline.sql").write_text(script)
    sql_warehouse = work_dir / "baseline" / "warehouse.duckdb"

    pipeline_times, sql_times, failures, rss_peaks = [], [], [], []
    profile_text = None
    import dagster as dg

    for i in range(runs):
        reset_outputs(settings)
        instance = dg.DagsterInstance.ephemeral()
        poller = TreeRss(os.getpid()).start()  # this process + the dbt subprocess
        t = time.perf_counter()
        if profile and i == runs - 1:
            import cProfile
            import io
            import pstats

            prof = cProfile.Profile()
            result = prof.runcall(build_job.execute_in_process, instance=instance, raise_on_error=False)
            elapsed = time.perf_counter() - t
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(25)
            profile_text = buf.getvalue()
        else:
            result = build_job.execute_in_process(instance=instance, raise_on_error=False)
            elapsed = time.perf_counter() - t
        poller.stop()
        rss_peaks.append({"tree_peak_gib": poller.peak_bytes / 2**30, "processes": poller.peak_processes})
        ok = result.success and not any(not e.passed for e in result.get_asset_check_evaluations())
        if not ok:
            failures.append(_failures(result))
        pipeline_times.append(elapsed)
        step_seconds = _step_seconds(instance, result)
        t = time.perf_counter()
        baseline.run_script(script, sql_warehouse, work_dir / "baseline" / "features")
        sql_times.append(time.perf_counter() - t)
        log(f"build run {i + 1}: dagster build {pipeline_times[-1]:.1f}s (ok={ok}), sql script {sql_times[-1]:.1f}s")
    rows_pipeline = parquet_rows(settings.features_dir)
    rows_sql = parquet_rows(work_dir / "baseline" / "features")
    return {
        "pipeline_seconds": pipeline_times,
        "sql_seconds": sql_times,
        "pipeline_ok": not failures,
        "failures": failures,
        "manifest_parse_seconds": parse_seconds,
        "step_seconds_last_run": step_seconds,
        "feature_rows_pipeline": rows_pipeline,
        "feature_rows_sql": rows_sql,
        "feature_rows_equal": rows_pipeline == rows_sql,
        "profile": profile_text,
        "rss_peaks": rss_peaks,
    }


def _step_seconds(instance, result) -> dict:
    """Wall seconds per step, from the run's step stats."""
    try:
        stats = instance.get_run_step_stats(result.run_id)
    except Exception as exc:  # diagnostics only
        return {"error": str(exc)}
    return {s.step_key: round(s.end_time - s.start_time, 2) for s in stats if s.start_time and s.end_time}


def raw_only_copy(settings, dest: Path) -> None:
    """A copy of the built warehouse with only the raw schema (the state before `dbt build`)."""
    import duckdb

    shutil.copy(settings.warehouse_path, dest)
    conn = duckdb.connect(str(dest))
    try:
        schemas = [r[0] for r in conn.execute(
            "select distinct schema_name from duckdb_schemas() where database_name = current_database() "
            "and schema_name not in ('raw', 'main', 'information_schema', 'pg_catalog')").fetchall()]
        for s in schemas:
            conn.execute(f'drop schema "{s}" cascade')
        conn.execute("checkpoint")
    finally:
        conn.close()


def restore_raw(settings, raw_copy: Path) -> None:
    reset_outputs(settings)
    shutil.copy(raw_copy, settings.warehouse_path)
    settings.features_dir.mkdir(parents=True, exist_ok=True)


def plain_dbt_build(settings, target: Path) -> subprocess.CompletedProcess:
    from dagster_project.defs.project import dbt_project
    from dagster_project.settings import DBT_PROJECT_DIR

    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    partial = Path(dbt_project.project_dir) / "target" / "partial_parse.msgpack"
    if partial.exists():  # what dagster-dbt does for its own target dir
        shutil.copy(partial, target / "partial_parse.msgpack")
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)  # dbt-duckdb creates the file only
    dbt = str(Path(sys.executable).with_name("dbt"))
    return subprocess.run(
        [dbt, "build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str(target)],
        env={**os.environ, **settings.env()}, capture_output=True, text=True,
    )


def measure_orchestration(settings, runs: int, work_dir: Path) -> dict:
    import dagster as dg

    _, dbt_job = bench_jobs(settings)
    raw_copy = work_dir / "raw_only.duckdb"
    raw_only_copy(settings, raw_copy)
    dagster_times, plain_times, problems = [], [], []
    for i in range(runs):
        restore_raw(settings, raw_copy)
        t = time.perf_counter()
        result = dbt_job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
        dagster_times.append(time.perf_counter() - t)
        if not result.success:
            problems.append(_failures(result))
        restore_raw(settings, raw_copy)
        t = time.perf_counter()
        proc = plain_dbt_build(settings, work_dir / "dbt_target")
        plain_times.append(time.perf_counter() - t)
        if proc.returncode != 0:
            problems.append([f"plain dbt exit {proc.returncode}: {proc.stdout[-800:]}"])
        log(f"orchestration run {i + 1}: dagster+dagster-dbt {dagster_times[-1]:.1f}s, plain dbt {plain_times[-1]:.1f}s")
    return {"dagster_seconds": dagster_times, "plain_dbt_seconds": plain_times, "problems": problems}


def measure_peak_rss(landing_src: Path, work_dir: Path) -> dict:
    data_dir = work_dir / "rss"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    shutil.copytree(landing_src, data_dir / "landing")
    env = dict(os.environ)
    env["DAGSTER_HOME"] = str(work_dir / "rss_dagster_home")
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    result = run_with_peak_rss([sys.executable, "-m", "bench.build", "--peak-rss-child", str(data_dir)], env=env,
                               cwd=Path(__file__).resolve().parent.parent)
    result["peak_gib"] = max(v for v in (result["tree_peak_gib"], result["time_max_rss_gib"]) if v is not None)
    windows_file = data_dir / "step_windows.json"
    timeline = result.pop("timeline")
    if windows_file.exists():
        # (step, peak GiB of the process tree while it ran, seconds), largest first
        result["step_peaks_gib"] = step_peaks(timeline, json.loads(windows_file.read_text()))[:10]
    shutil.rmtree(data_dir, ignore_errors=True)
    return result


def _peak_rss_child(data_dir: Path) -> int:
    import dagster as dg

    from dagster_project.pipeline import run_pipeline

    settings = make_settings(data_dir, feast_project="retail_context_bench_rss")
    instance = dg.DagsterInstance.ephemeral()
    result = run_pipeline(settings, instance)
    # when each step ran (wall clock), so the parent can say which step held the peak
    started: dict = {}
    windows = []
    for entry in instance.all_logs(result.run_id):
        event = entry.dagster_event
        if event is None or entry.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            started[entry.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and entry.step_key in started:
            windows.append((entry.step_key, started.pop(entry.step_key), entry.timestamp))
    (data_dir / "step_windows.json").write_text(json.dumps(windows))
    print(f"success={result.success}")
    return 0 if result.success else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.build")
    parser.add_argument("--peak-rss-child", type=Path, required=True,
                        help="run the full_pipeline job on DIR/landing (the child process measured for peak RSS)")
    args = parser.parse_args()
    sys.exit(_peak_rss_child(args.peak_rss_child))


def _data_lines(path: Path) -> int:
    """Rows of a landing file: its lines, less the header of a CSV."""
    with open(path, "rb") as f:
        lines = sum(1 for _ in f)
    return max(0, lines - (1 if path.suffix == ".csv" else 0))


def measure_incremental(settings, runs: int, work_dir: Path) -> dict:
    """incremental_vs_full_ratio: the build (bench_build: all but Feast) of every delivery day but
    the last as a full refresh, timed; then the last day's files arrive and that day's partition
    runs (ingestion of its window, the incremental dbt models, then the unpartitioned models,
    checks and feature exports, as the nightly schedule runs it), timed. One pair per run, on a
    fresh warehouse each time."""
    import dagster as dg

    build_job, _ = bench_jobs(settings)
    landing = settings.landing_dir
    days = sorted(p.stem for p in (landing / "web" / "events").glob("*.jsonl"))
    last = days[-1]
    aside = work_dir / "held_back"
    new_files = sorted(p for p in landing.rglob(f"{last}.*"))
    new_rows = sum(_data_lines(p) for p in new_files)
    all_rows = sum(_data_lines(p) for p in landing.rglob("*.*") if p.suffix in (".csv", ".jsonl"))
    full_times, inc_times, failures, steps = [], [], [], {}
    for i in range(runs):
        reset_outputs(settings)
        for p in new_files:
            target = aside / p.relative_to(landing)
            target.parent.mkdir(parents=True, exist_ok=True)
            p.rename(target)
        try:
            t = time.perf_counter()
            result = build_job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
            full_times.append(time.perf_counter() - t)
            if not result.success:
                failures.append(_failures(result))
        finally:
            for p in new_files:
                (aside / p.relative_to(landing)).rename(p)
        instance = dg.DagsterInstance.ephemeral()
        t = time.perf_counter()
        result = build_job.job_def.execute_in_process(instance=instance, raise_on_error=False, partition_key=last)
        inc_times.append(time.perf_counter() - t)
        if not result.success:
            failures.append(_failures(result))
        steps = _step_seconds(instance, result)
        log(f"incremental run {i + 1}: full build of {len(days) - 1} days {full_times[-1]:.1f}s, "
            f"day {last} as one partition {inc_times[-1]:.1f}s")
    return {"full_seconds": full_times, "incremental_seconds": inc_times, "failures": failures,
            "step_seconds_last_run": steps, "day": last, "new_day_rows": new_rows, "all_rows": all_rows,
            "days": len(days)}
