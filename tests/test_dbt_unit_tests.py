"""dbt unit tests (`unit_tests:` in the model yml files) on a real DuckDB: every model built
`--empty` over the raw tables the contracts define (unit tests read the column types of a
model's inputs from the warehouse), then `dbt test --select test_type:unit`. The pipeline's
dbt steps leave them out (their inputs are fixed: they test the SQL, here, not the data)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from test_dbt_staging import DBT_PROJECT_DIR, DEV_SALT, create_raw_tables

from dagster_project.settings import Settings

# The behaviours the unit tests pin down; each must exist and pass (a renamed or deleted unit
# test fails here instead of silently no longer running).
REQUIRED_UNIT_TESTS = {
    "customer_feature_windows_count_the_last_30_and_90_days",
    "customer_features_are_known_the_midnight_after_their_day",
    "product_activity_counts_each_source_per_product_and_day",
    "product_features_keep_the_days_a_value_changes_stamped_the_day_after",
    "cart_is_abandoned_after_24_hours_without_activity_or_order",
    "available_to_promise_is_unreserved_stock_never_below_zero",
    "session_ends_after_30_minutes_without_an_event",
    "session_timeout_is_the_deployments_setting",
    "next_inbound_units_are_every_shipment_due_at_the_soonest_time",
    "cart_picks_among_events_at_the_same_moment_by_event_id",
}


def run_dbt(tmp: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    """Run dbt against the scratch warehouse in `tmp`; returns the process and the status of
    every node it ran (run_results.json), by name."""
    dbt = Path(sys.executable).with_name("dbt")
    settings = Settings.for_data_dir(tmp, warehouse_path=tmp / "warehouse.duckdb", features_dir=tmp / "features",
                                     pii_salt=DEV_SALT)
    env = {**os.environ, **settings.env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = subprocess.run(
        [str(dbt), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")],
        env=env, capture_output=True, text=True, timeout=900,
    )
    results_path = tmp / "target" / "run_results.json"
    statuses = {}
    if results_path.exists():
        statuses = {r["unique_id"].split(".")[-1]: r["status"]
                    for r in json.loads(results_path.read_text())["results"]}
        results_path.unlink()  # the next invocation writes its own
    return result, statuses


@pytest.fixture(scope="module")
def empty_warehouse(tmp_path_factory) -> Path:
    """Every model built with no rows (`dbt run --empty`) over empty raw tables."""
    tmp = tmp_path_factory.mktemp("dbt_unit")
    (tmp / "features").mkdir()  # dbt-duckdb does not create the external root
    with duckdb.connect(str(tmp / "warehouse.duckdb")) as con:
        create_raw_tables(con)
    result, statuses = run_dbt(tmp, "run", "--empty")
    assert result.returncode == 0, f"dbt run --empty failed:\n{result.stdout}\n{result.stderr}"
    assert statuses and all(s == "success" for s in statuses.values()), statuses
    return tmp


def test_unit_tests_pass_on_a_real_duckdb(empty_warehouse):
    result, statuses = run_dbt(empty_warehouse, "test", "--select", "test_type:unit")
    assert result.returncode == 0, f"dbt unit tests failed:\n{result.stdout}\n{result.stderr}"
    assert REQUIRED_UNIT_TESTS <= set(statuses), sorted(REQUIRED_UNIT_TESTS - set(statuses))
    assert all(status == "pass" for status in statuses.values()), statuses
    # only unit tests ran: the data tests of the empty models are not what this checks
    manifest = json.loads((empty_warehouse / "target" / "manifest.json").read_text())
    assert set(statuses) == {node["name"] for node in manifest["unit_tests"].values()}


def test_a_changed_session_timeout_fails_the_unit_test_that_pins_it(empty_warehouse):
    """The unit tests see the project's vars: run with a 45-minute timeout, the 30-minute
    boundary test fails (its three events become one session), while the test that sets its own
    timeout still passes."""
    result, statuses = run_dbt(
        empty_warehouse, "test", "--select",
        "session_ends_after_30_minutes_without_an_event session_timeout_is_the_deployments_setting",
        "--vars", json.dumps({"session_timeout_minutes": 45}),
    )
    assert result.returncode != 0
    assert statuses == {"session_ends_after_30_minutes_without_an_event": "fail",
                        "session_timeout_is_the_deployments_setting": "pass"}, statuses
