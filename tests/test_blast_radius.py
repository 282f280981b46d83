"""One source's fault stays in that source: a delivery rejected by its contract leaves that raw
table at its last good load, and the rest of the graph (the healthy sources' new rows, the marts,
the features and every online view) still builds, on the last good rows of the broken source.
The run is reported as failed, for that source only."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from dagster_project.feast_ext.feature_tables import FEATURE_VIEWS

from conftest import make_settings

BROKEN = "wms__locations"


def _raw_rows(settings, table: str) -> int:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return conn.execute(f"select count(*) from raw.{table}").fetchone()[0]


def _break_locations(landing) -> None:
    """A new locations delivery without the required `city` column: the contract rejects it."""
    folder = landing / "wms" / "locations"
    (folder / "2099-01-01.csv").write_text(
        "location_id,location_type,name,country,latitude,longitude,is_click_and_collect\n"
        "ST-99,store,New store,DE,52.5,13.4,true\n"
    )


def _deliver_the_next_web_day(landing) -> Path:
    """The healthy web source's next delivery: the last day's events one day later, under new
    message ids (new events, not a re-delivery)."""
    folder = landing / "web" / "events"
    last = sorted(folder.glob("*.jsonl"))[-1]
    next_day = date.fromisoformat(last.stem) + timedelta(days=1)
    with open(folder / f"{next_day}.jsonl", "w") as delivery:
        for line in last.read_text().splitlines():
            event = json.loads(line)
            event["message_id"] = f"next-day-{event['message_id']}"
            at = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")) + timedelta(days=1)
            event["timestamp"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
            delivery.write(json.dumps(event) + "\n")
    return folder / f"{next_day}.jsonl"


@pytest.mark.slow
def test_a_rejected_delivery_only_fails_its_source(pipeline_settings, tmp_path):
    """From a copy of the session's build (every source at its last good load), the next run
    brings a new web day and a locations delivery the contract rejects."""
    from dagster_project.pipeline import run_pipeline
    from dagster_project.defs import build_defs

    data_dir = tmp_path / "data"
    shutil.copytree(pipeline_settings.data_dir, data_dir)
    settings = make_settings(data_dir)
    landing = settings.landing_dir
    locations_before = _raw_rows(settings, BROKEN)
    web_before = _raw_rows(settings, "web__events")

    new_web_day = _deliver_the_next_web_day(landing)
    _break_locations(landing)
    result = run_pipeline(settings)

    # the run fails, for the broken source only
    assert not result.success
    failed_steps = {e.step_key for e in result.all_events if e.is_step_failure}
    assert failed_steps == {f"raw__{BROKEN}_delivery_accepted"}
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "2099-01-01.csv" in failure.message or "2099-01-01.csv" in str(failure.event_specific_data)
    assert not [e.step_key for e in result.all_events if e.is_step_skipped]

    # every asset of the job was materialized, on the last good locations
    defs = build_defs(settings)
    job_keys = {k.to_user_string() for k in defs.resolve_job_def("full_pipeline").asset_layer.selected_asset_keys}
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert job_keys - materialized == set()
    assert {f"online_store/{view}" for view in FEATURE_VIEWS} | {"warehouse/published", "marts/inventory_positions",
                                                                "features/product_features"} <= materialized
    rejected = [e.step_materialization_data.materialization.metadata for e in result.get_asset_materialization_events()
                if e.asset_key.to_user_string() == f"raw/{BROKEN}"]
    assert rejected and all("city" in m["delivery_rejected"].value for m in rejected)
    assert _raw_rows(settings, BROKEN) == locations_before

    # the healthy source's new day went all the way through to staging
    assert _raw_rows(settings, "web__events") > web_before
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        staged = conn.execute(
            "select count(*) from staging.stg_web__events where _source_file like ?", [f"%{new_web_day.name}"],
        ).fetchone()[0]
        unknown_locations = conn.execute(
            "select count(*) from marts.inventory_positions where has_unknown_location").fetchone()[0]
    assert staged > 0
    # stock still joins the last good locations: nothing became an orphan
    assert unknown_locations == 0


@pytest.mark.slow
def test_a_new_deployment_with_a_missing_source_folder_still_publishes(sample_landing, tmp_path):
    """The first run of a deployment whose support-ticket export is not set up yet: that source is
    rejected (no last good load: its tables are created empty), everything else is published,
    and `rcl run` exits 3 (partial) naming the folder."""
    from dagster_project.cli import EXIT_PARTIAL, run

    data_dir = tmp_path / "data"
    shutil.copytree(sample_landing / "landing", data_dir / "landing")
    shutil.rmtree(data_dir / "landing" / "crm" / "support_tickets")
    settings = make_settings(data_dir)

    summary = run(settings, quiet=True)

    assert summary.exit_code == EXIT_PARTIAL, summary.render()
    assert sorted(summary.views_published) == sorted(FEATURE_VIEWS)
    by_name = {s.name: s for s in summary.sources}
    assert by_name["crm__support_tickets"].status == "failed"
    assert "no landing folder" in by_name["crm__support_tickets"].message
    assert all(s.status == "loaded" for name, s in by_name.items() if name != "crm__support_tickets")
    assert set(summary.failed_steps) == {"raw__crm__support_tickets_delivery_accepted"}
    assert _raw_rows(settings, "crm__support_tickets") == 0
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        tickets = conn.execute("select count(*), count(*) filter (where support_tickets_90d > 0) "
                               "from read_parquet(?)", [str(settings.features_dir / "customer_features.parquet")]).fetchone()
    assert tickets[0] > 0 and tickets[1] == 0  # customers published, with no tickets counted
    assert "crm__support_tickets" in summary.render() and "Result: PARTIAL" in summary.render()
