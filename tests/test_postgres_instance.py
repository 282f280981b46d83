"""The instance profiles. Production (deploy/dagster.yaml) on a real PostgreSQL database: a run of
the project's full_pipeline job (its cheapest asset, the analysts' published warehouse) is stored
there with its events and the asset's materialization, and a second instance made from the same
profile sees it. The local profile (deploy/dagster.local.yaml) keeps SQLite."""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb
import psycopg2

from dagster_project.defs import build_defs
from dagster_project.settings import REPO_ROOT, Settings

PROFILE = REPO_ROOT / "deploy" / "dagster.yaml"
PUBLISHED_KEY = dg.AssetKey(["warehouse", "published"])


def _use_profile(monkeypatch, tmp_path, pg: dict):
    """DAGSTER_HOME holding the repository's profile, its variables pointing at the test database."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROFILE, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    for name, value in {"HOST": pg["host"], "PORT": str(pg["port"]), "USER": pg["user"], "PASSWORD": "",
                        "DB": pg["dbname"]}.items():
        monkeypatch.setenv(f"RCL_DAGSTER_PG_{name}", value)


def test_a_run_and_its_events_are_stored_in_postgresql(monkeypatch, tmp_path, pg_url):
    _use_profile(monkeypatch, tmp_path, pg_url)
    settings = Settings.for_data_dir(tmp_path / "data", partitions_start="2026-01-01")
    settings.warehouse_path.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse_path)) as conn:  # a working warehouse to publish
        conn.execute("create table marts_check as select 1 as one")
    job = build_defs(settings).resolve_job_def("full_pipeline")

    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        result = job.execute_in_process(instance=instance, asset_selection=[PUBLISHED_KEY])
        assert result.success

    with dg.DagsterInstance.get() as reopened:  # what the webserver and the daemon read
        (record,) = reopened.get_run_records()
        assert record.dagster_run.run_id == result.run_id
        assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
        materialization = reopened.get_latest_materialization_event(PUBLISHED_KEY)
        assert materialization.run_id == result.run_id
        assert materialization.asset_materialization.metadata["build"].value.startswith("warehouse-")

    with psycopg2.connect(**{k: pg_url[k] for k in ("host", "port", "user", "dbname")}) as conn, conn.cursor() as cur:
        cur.execute("select run_id, status, pipeline_name from runs")
        assert cur.fetchall() == [(result.run_id, "SUCCESS", "full_pipeline")]
        cur.execute("select dagster_event_type, count(*) from event_logs where run_id = %s "
                    "and dagster_event_type is not null group by 1", (result.run_id,))
        events = dict(cur.fetchall())
    # Dagster stores the run's start and success under their historical names
    assert {"PIPELINE_START", "STEP_START", "ASSET_MATERIALIZATION", "STEP_SUCCESS", "PIPELINE_SUCCESS"} <= set(events)


def test_the_local_profile_keeps_sqlite_and_runs_one_at_a_time(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "dagster.local.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
