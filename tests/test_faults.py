"""Fault tolerance: re-ingesting or re-running produces no duplicates, a run killed mid-way and
re-run ends in exactly the state of an uninterrupted run, and an unreachable online store is
retried with backoff, reported as a failure, and never leaves a view half-published."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dagster_project.contracts import CONTRACTS
from dagster_project.feast_ext.feature_tables import FEATURE_VIEWS, feature_table_path
from dagster_project.ingestion import ingest_entity
from dagster_project.settings import REPO_ROOT

from conftest import REQUIRE_SERVICES, duck, make_settings, use_settings_env

NONDETERMINISTIC = {"_loaded_at"}  # load time of a row: differs between runs by design


def _table_checksums(conn, schemas, strip: str) -> dict[str, tuple[int, str]]:
    """(rows, md5 over the sorted rows) per table, with the data directory stripped from paths."""
    tables = conn.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        f"where table_schema in ({', '.join(repr(s) for s in schemas)}) and table_type = 'BASE TABLE' order by 1"
    ).fetchall()
    sums = {}
    for (table,) in tables:
        columns = [r[0] for r in conn.execute(f"describe {table}").fetchall() if r[0] not in NONDETERMINISTIC]
        select = ", ".join(f'"{c}"' for c in columns)
        sums[table] = conn.execute(
            f"""
            select count(*), md5(coalesce(string_agg(r, chr(10) order by r), ''))
            from (select replace(row({select})::varchar, ?, '') as r from {table})
            """,
            [strip],
        ).fetchone()
    return sums


def _parquet_checksums(settings) -> dict[str, tuple[int, str]]:
    sums = {}
    for view in FEATURE_VIEWS:
        sums[view] = duck(
            f"select count(*), md5(coalesce(string_agg(r, chr(10) order by r), '')) "
            f"from (select t::varchar as r from read_parquet('{feature_table_path(settings, view)}') t)"
        ).fetchall()[0]
    return sums


def warehouse_state(settings) -> dict:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        state = _table_checksums(conn, ["raw", "marts", "features"], str(settings.data_dir))
    state.update(_parquet_checksums(settings))
    return state


# ---------------------------------------------------------------- idempotence

def test_reingesting_the_same_files_changes_nothing(sample_landing, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(sample_landing / "landing", landing)
    # a client retry of a whole file: the same rows delivered again under another name
    events = sorted((landing / "web" / "events").glob("*.jsonl"))
    shutil.copy(events[-1], events[-1].with_name("2099-12-31-redelivery.jsonl"))
    redelivered_rows = sum(1 for line in events[-1].read_text().splitlines() if line.strip())
    states = []
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        for _ in range(2):
            results = {c.name: ingest_entity(conn, c, landing) for c in CONTRACTS}
            assert all(r.is_reconciled for r in results.values())
            states.append(_table_checksums(conn, ["raw"], str(tmp_path)))
    assert states[0] == states[1]
    assert all(rows > 0 for name, (rows, _) in states[0].items() if not name.endswith("__quarantine"))
    # the re-delivered file only adds counted duplicates, not rows
    assert results["web__events"].duplicates_removed >= redelivered_rows
    per_file = {Path(f.file).name: f for f in results["web__events"].per_file}
    assert per_file["2099-12-31-redelivery.jsonl"].rows_loaded == 0


@pytest.mark.slow
def test_rerunning_the_pipeline_gives_identical_tables(pipeline_settings, tmp_path):
    from dagster_project.pipeline import run_pipeline

    data_dir = tmp_path / "data"
    shutil.copytree(pipeline_settings.data_dir, data_dir)
    settings = make_settings(data_dir)
    result = run_pipeline(settings)
    assert result.success
    # compared with the first run's state (paths to landing files relative to each data dir)
    after = warehouse_state(settings)
    before = warehouse_state(pipeline_settings)
    assert after.keys() == before.keys()
    assert {k: v for k, v in after.items() if v != before[k]} == {}


# ---------------------------------------------------------------- killed run

def _session_processes(session_id: int) -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) != session_id:
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ProcessLookupError):
            continue
        found.append((int(entry.name), cmdline))
    return found


def _run_rcl(data_dir: Path, log_path: Path) -> subprocess.Popen:
    """`rcl run` on data_dir's landing folder, with exactly the settings the tests use
    (make_settings), so that its result compares with the session's run. No DAGSTER_HOME: the
    command's own default, an ephemeral instance (what is killed and re-run is the warehouse's
    state, not a run history)."""
    env = {**os.environ, **make_settings(data_dir).env()}
    env.pop("DAGSTER_HOME", None)
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("rcl")), "run", "--landing-dir", str(data_dir / "landing"),
         "--data-dir", str(data_dir)],
        cwd=REPO_ROOT, env=env, stdout=open(log_path, "wb"), stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: killing it kills dbt too
    )


@pytest.mark.slow
def test_a_run_killed_during_dbt_and_rerun_equals_an_uninterrupted_run(pipeline_settings, sample_landing, tmp_path):
    """The session's pipeline run is the uninterrupted reference (same landing files)."""
    data_dir = tmp_path / "data"
    shutil.copytree(sample_landing / "landing", data_dir / "landing")
    shutil.copytree(sample_landing / "ground_truth", data_dir / "ground_truth")

    proc = _run_rcl(data_dir, tmp_path / "killed.log")
    deadline = time.monotonic() + 600
    killed = False
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if any(" build" in cmd and "dbt" in cmd for _, cmd in _session_processes(proc.pid)):
                time.sleep(3)  # let dbt write some models
                os.killpg(proc.pid, signal.SIGKILL)
                killed = True
                break
            time.sleep(0.2)
    finally:
        if proc.poll() is None and not killed:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    log = (tmp_path / "killed.log").read_text(errors="replace")
    assert killed, f"dbt build never started within the wait; log tail:\n{log[-3000:]}"
    for _ in range(50):  # the whole group is gone, dbt included
        if not _session_processes(proc.pid):
            break
        time.sleep(0.1)
    assert not _session_processes(proc.pid)

    # the run again, in this process (what `rcl run` runs, without a second interpreter's start)
    from dagster_project.pipeline import run_pipeline

    settings = make_settings(data_dir)
    rerun = run_pipeline(settings)
    assert rerun.success, [e.message for e in rerun.all_events if e.is_failure][:3]
    got, expected = warehouse_state(settings), warehouse_state(pipeline_settings)
    assert got.keys() == expected.keys()
    assert {k: v for k, v in got.items() if v != expected[k]} == {}


# ---------------------------------------------------------------- online store down

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_online_store_is_retried_with_backoff_then_reported(tmp_path):
    from dagster_project.feast_ext.publish import OnlineStoreUnavailable, materialize_view

    port = _free_port()  # nothing listens there
    settings = make_settings(tmp_path, online_store="redis", redis_url=f"redis://:secret@127.0.0.1:{port}/0")
    settings.features_dir.mkdir(parents=True)
    pd.DataFrame({"event_timestamp": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True)}).to_parquet(
        feature_table_path(settings, "product_features")
    )
    delays = []
    with pytest.raises(OnlineStoreUnavailable) as err:
        materialize_view(settings, "product_features", attempts=4, first_delay=0.5, sleep=delays.append)
    assert delays == [0.5, 1.0, 2.0]  # exponential backoff between the four attempts
    message = str(err.value)
    assert "'product_features'" in message and f"127.0.0.1:{port}" in message and "4 attempts" in message
    assert "secret" not in message


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of our own on a free loopback port (the shared one is never stopped)."""
    binary = shutil.which("redis-server")
    if binary is None:
        if REQUIRE_SERVICES:
            pytest.fail("redis-server is not installed; REQUIRE_SERVICES=1 makes it mandatory")
        pytest.skip("redis-server is not installed")
    port = _free_port()
    workdir = tmp_path / "redis"
    workdir.mkdir()

    class Server:
        url = f"redis://127.0.0.1:{port}/0"
        proc = None

        def start(self):
            # append-only file: the data survives the stop/start like a real restart
            self.proc = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir), "--appendonly", "yes",
                 "--save", ""], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            import redis

            for _ in range(100):
                try:
                    redis.Redis(port=port, socket_connect_timeout=0.2).ping()
                    return
                except redis.exceptions.ConnectionError:
                    time.sleep(0.05)
            raise RuntimeError("private redis-server did not start")

        def stop(self):
            if self.proc is not None and self.proc.poll() is None:
                self.proc.terminate()
                self.proc.wait(timeout=10)

        def kill(self):
            """Redis dies (SIGKILL): what it applied is in its append-only file (the kernel's
            page cache), what it had not applied is lost."""
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)

    server = Server()
    server.start()
    yield server
    server.stop()


def _materialized_intervals(settings, view):
    from dagster_project.feast_ext.repo import get_feature_store

    store = get_feature_store(settings)
    return len(store.get_feature_view(view).materialization_intervals)


@pytest.mark.slow
def test_redis_down_during_materialization_never_half_publishes(pipeline_settings, private_redis, tmp_path,
                                                                 monkeypatch):
    from dagster_project.feast_ext.publish import OnlineStoreUnavailable, materialize_view
    from dagster_project.feast_ext.repo import apply_feature_repo, get_feature_store

    data_dir = tmp_path / "data"
    shutil.copytree(pipeline_settings.features_dir, data_dir / "features")
    settings = make_settings(data_dir, online_store="redis", redis_url=private_redis.url, feast_project="rcl_faults")
    use_settings_env(monkeypatch, settings)
    apply_feature_repo(settings)
    materialize_view(settings, "product_features")
    store = get_feature_store(settings)
    products = pd.read_parquet(feature_table_path(settings, "product_features"))
    product_ids = sorted(products.product_id.unique())[:20]

    def online_prices():
        return get_feature_store(settings).get_online_features(
            features=["product_features:price"], entity_rows=[{"product_id": p} for p in product_ids]
        ).to_dict()["price"]

    published = online_prices()
    assert all(p is not None for p in published)
    intervals = _materialized_intervals(settings, "product_features")

    # A new day of feature rows (prices up by one) arrives while Redis is down: retried, then
    # a clear failure; nothing recorded. (Redis stopped midway through a publish, a killed
    # publisher and same-timestamp corrections: tests/test_atomic_publish.py.)
    path = feature_table_path(settings, "product_features")
    next_day = products.assign(price=products.price + 1,
                               event_timestamp=products.event_timestamp + pd.Timedelta(days=1))
    pd.concat([products, next_day], ignore_index=True).to_parquet(path, index=False)
    private_redis.stop()
    started = time.monotonic()
    with pytest.raises(OnlineStoreUnavailable, match="product_features"):
        materialize_view(settings, "product_features", attempts=3, first_delay=0.2)
    assert time.monotonic() - started >= 0.6  # 0.2 + 0.4 of backoff
    private_redis.start()
    assert online_prices() == published  # the last good values, untouched
    assert _materialized_intervals(settings, "product_features") == intervals

    # Redis comes back while the retries are still waiting: the materialization succeeds.
    private_redis.stop()
    import threading

    threading.Timer(1.0, private_redis.start).start()
    window = materialize_view(settings, "product_features", attempts=6, first_delay=0.5)
    assert window["attempts"] > 1
    assert online_prices() == pytest.approx([p + 1 for p in published])
    assert _materialized_intervals(settings, "product_features") == intervals + 1
    del store


# ---------------------------------------------------------------- rejected delivery

def test_a_rejected_delivery_keeps_the_last_good_load_and_fails_only_its_check(sample_landing, tmp_path):
    """Fast tier of tests/test_blast_radius.py: the ingestion step of a delivery the contract
    rejects succeeds with the table at its last good load (so downstream steps can run on it),
    records why, and the entity's delivery_accepted check fails the run."""
    import dagster as dg

    from dagster_project.defs.assets.ingestion import build_ingestion_asset
    from dagster_project.defs.checks.delivery import build_delivery_check
    from dagster_project.defs.resources import build_resources
    from dagster_project.pipeline import partition_range_tags

    data_dir = tmp_path / "data"
    shutil.copytree(sample_landing / "landing", data_dir / "landing")
    settings = make_settings(data_dir)
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    contract = next(c for c in CONTRACTS if c.name == "wms__locations")
    assets = [build_ingestion_asset(contract, settings), build_delivery_check(contract)]
    resources = build_resources(settings)
    instance = dg.DagsterInstance.ephemeral()
    job = dg.Definitions(assets=assets[:1], asset_checks=assets[1:], resources=resources,
                         jobs=[dg.define_asset_job("load", dg.AssetSelection.all())]).resolve_job_def("load")
    tags = partition_range_tags(job)

    def load():
        return job.execute_in_process(instance=instance, raise_on_error=False, tags=tags)

    assert load().success
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        good = conn.execute(f"select * from {contract.raw_table} order by all").fetchall()

    bad_file = data_dir / "landing" / "wms" / "locations" / "2099-01-01.csv"
    bad_file.write_text("location_id,location_type,name,country,latitude,longitude,is_click_and_collect\n"
                        "ST-99,store,New store,DE,52.5,13.4,true\n")
    result = load()

    assert not result.success
    assert {e.step_key for e in result.all_events if e.is_step_failure} == {"raw__wms__locations_delivery_accepted"}
    # one materialization per partition of the run, each with the reason
    reasons = {e.step_materialization_data.materialization.metadata["delivery_rejected"].value
               for e in result.get_asset_materialization_events()}
    (reason,) = reasons
    assert "2099-01-01.csv" in reason and "city" in reason
    assert {(e.check_name, e.passed) for e in result.get_asset_check_evaluations()} == {
        ("rows_reconciled", False), ("quarantine_rate", False), ("contract_expectations", False)}
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        assert conn.execute(f"select * from {contract.raw_table} order by all").fetchall() == good

    bad_file.unlink()  # the source fixes its export: the next run is clean again
    assert load().success
