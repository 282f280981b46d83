"""`make demo` on a small shop of its own (`python -m dagster_project.demo --data-dir DIR`, a real
Dagster instance in DAGSTER_HOME), then the Dagster UI on that instance, driven by Debian's
headless Chromium: the asset graph's groups, a mart's row count and column types, a partition
materialized from the UI's Materialize dialog. Screenshots go to test-artifacts/dagster-ui/.

One module: the UI test needs the instance the demo ran in (a module fixture, one worker)."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import REQUIRE_SERVICES, SCENARIO_DAYS
from dagster_project.settings import REPO_ROOT

pytestmark = pytest.mark.slow

MAX_LINES = 150  # what `make demo` may print
# a column the contract does not know, long enough to see that the warning is printed in full
EXTRA_COLUMN = "loyalty_note_" + "_".join(f"part{i}" for i in range(15))
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "dagster-ui"
# how long `dagster dev` may take to shut down on Ctrl-C before it is killed (seconds)
STOP_SECONDS = 10


def _add_column(csv_path: Path, name: str) -> None:
    """A delivery file with one column more than its contract (the load keeps it and warns)."""
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rows = [rows[0] + [name]] + [row + ["x"] for row in rows[1:]]
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def _child_env(dagster_home: Path) -> dict[str, str]:
    """This process's environment without our settings' variables (the demo sets its own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCL_")}
    return {**env, "DAGSTER_HOME": str(dagster_home), "DBT_PROFILES_DIR": str(REPO_ROOT / "dbt")}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's output and folders: a generated shop (one orders file with an extra column),
    run through `python -m dagster_project.demo --keep-data --data-dir DIR`."""
    from dagster_project.sample_data.generator import generate

    kept = os.environ.get("RCL_TEST_DEMO_DIR")  # a folder this fixture filled before: iterate on the UI test
    if kept and (Path(kept) / "demo-stdout.txt").exists():
        root = Path(kept)
        return SimpleNamespace(data_dir=root / "data", home=root / "dagster_home",
                               stdout=(root / "demo-stdout.txt").read_text(), output=(root / "demo-output.txt").read_text())
    root = Path(kept) if kept else tmp_path_factory.mktemp("demo")
    data_dir, home = root / "data", root / "dagster_home"
    generate(data_dir / "landing", scale=0.1, seed=42, days=SCENARIO_DAYS)
    _add_column(sorted((data_dir / "landing" / "oms" / "orders").glob("*.csv"))[3], EXTRA_COLUMN)
    home.mkdir()
    (home / "dagster.yaml").touch()  # Dagster's defaults: SQLite storage in the folder
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "dagster_project.demo", "--keep-data", "--data-dir", str(data_dir)],
                          cwd=REPO_ROOT, env=_child_env(home), capture_output=True, text=True, timeout=3600)
    output = proc.stdout + proc.stderr
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "demo-output.txt").write_text(output)
    (root / "demo-output.txt").write_text(output)
    (root / "demo-stdout.txt").write_text(proc.stdout)
    _record("demo_seconds", round(time.monotonic() - started))
    assert proc.returncode == 0, output[-5000:]
    return SimpleNamespace(data_dir=data_dir, home=home, stdout=proc.stdout, output=output)


def _record(name: str, value) -> None:
    """Timings for the report, in test-artifacts/dagster-ui/timings.json."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "timings.json"
    timings = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**timings, name: value}, indent=2))


def _delivery_days(landing: Path) -> list[str]:
    return sorted({p.name[:10] for p in landing.glob("*/*/????-??-??.*")})


# ---------------------------------------------------------------- the demo's output

def test_the_demo_prints_one_line_per_asset_and_stays_short(demo):
    lines = demo.output.splitlines()
    assert len(lines) <= MAX_LINES, f"{len(lines)} lines:\n{demo.output}"
    log_path = re.search(r"Log \(every Dagster and dbt event\): (\S+)", demo.stdout).group(1)
    assert demo.stdout.splitlines()[0].endswith(log_path) and demo.stdout.rstrip().endswith(log_path)
    orders = next(line for line in lines if line.strip().startswith("raw/oms__orders "))
    assert re.search(r"[\d,]+ rows .*checks \d+/\d+ passed", orders), orders
    assert any(line.strip().startswith("marts/orders ") and "rows" in line for line in lines)
    assert "Result: OK" in demo.stdout
    assert "Running with dbt" not in demo.output and "STEP_START" not in demo.output  # those are for the log


def test_a_warning_is_printed_in_full(demo):
    warning = next(line for line in demo.output.splitlines() if EXTRA_COLUMN in line)
    assert warning.startswith("WARNING") and warning.rstrip().endswith(EXTRA_COLUMN), warning


def test_the_log_file_holds_every_event_of_dagster_and_dbt(demo):
    log_path = Path(re.search(r"Log \(every Dagster and dbt event\): (\S+)", demo.stdout).group(1))
    assert log_path.parent == demo.data_dir / "logs"
    log = log_path.read_text()
    for text in ("DEBUG", "STEP_START", "ASSET_MATERIALIZATION", "Running with dbt", EXTRA_COLUMN):
        assert text in log, text


def test_the_run_has_one_partition_per_delivery_day(demo):
    """Partitions from the first to the last delivery day: none before, none after (the
    generated shop's last delivery lies weeks before today)."""
    import dagster as dg

    days = _delivery_days(demo.data_dir / "landing")
    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    every_day = [(first + timedelta(n)).isoformat() for n in range((last - first).days + 1)]
    assert days == every_day  # the shop delivers something every day
    assert f"Partitions: {len(days)} delivery days, {days[0]} to {days[-1]}" in demo.stdout
    with dg.DagsterInstance.from_config(str(demo.home)) as instance:
        (run,) = instance.get_runs(dg.RunsFilter(job_name="full_pipeline"))
        assert run.tags["dagster/asset_partition_range_start"] == days[0]
        assert run.tags["dagster/asset_partition_range_end"] == days[-1]
        for key in (["raw", "oms__orders"], ["raw", "wms__locations"]):
            assert sorted(instance.get_materialized_partitions(dg.AssetKey(key))) == days


# ---------------------------------------------------------------- the Dagster UI

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, body: dict | None = None, timeout: float = 30) -> bytes:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


LOCATIONS_QUERY = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus " \
                  "locationOrLoadError { __typename } } } } }"


def _wait_until_loaded(base: str, proc: subprocess.Popen, timeout: float = 900) -> float:
    """Seconds until the webserver answers /server_info and the code location has loaded."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        assert proc.poll() is None, "dagster dev exited; see test-artifacts/dagster-ui/dagster-dev.log"
        try:
            _get(f"{base}/server_info", timeout=5)
            entries = json.loads(_get(f"{base}/graphql", {"query": LOCATIONS_QUERY}))["data"]["workspaceOrError"]
            loaded = [e for e in entries["locationEntries"] if e["loadStatus"] == "LOADED"]
            if loaded:
                assert loaded[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation", loaded
                assert loaded[0]["name"] == "retail_context", loaded  # the workspace's name, not the module's
                return time.monotonic() - started
        except (OSError, KeyError, ValueError):
            pass
        time.sleep(3)
    pytest.fail(f"the Dagster UI was not ready after {timeout:.0f}s")


@pytest.fixture
def dagster_ui(demo):
    """`dagster dev` (webserver and daemon, as `make dev` starts them) on the demo's instance and
    settings; its base URL. Stopped (its process group) at the end."""
    from dagster_project.demo import delivery_partitions, demo_settings

    env = {**_child_env(demo.home), **delivery_partitions(demo_settings(demo.data_dir, environ={})).env(),
           "PYTHONUNBUFFERED": "1"}  # its log is whole up to the moment it is stopped
    port = _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / "dagster-dev.log", "wb")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), "dev", "-w", "deploy/workspace.yaml",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _record("webserver_ready_seconds", round(_wait_until_loaded(base, proc)))
        # Dagster's "Join the Dagster community" dialog opens once per instance, at any moment of
        # a session on a local address: mark it seen on the instance (the UI's own mutation)
        answer = json.loads(_get(f"{base}/graphql", {"query": "mutation SetNuxSeen { setNuxSeen }"}))
        assert answer.get("data", {}).get("setNuxSeen") is True, answer
        yield base
    finally:
        stop_dagster_dev(proc)
        log.close()


def stop_dagster_dev(proc: subprocess.Popen) -> None:
    """Ctrl-C, as in the terminal of `make dev`: SIGINT to the whole process group (dagster dev,
    its webserver, daemon and code server each shut down on it), then SIGKILL to whatever is left
    after STOP_SECONDS. Alone, they stop in about a second; in every full-suite run so far (a
    loaded machine) dagster dev waited on its webserver for its own minute, whether SIGINT went
    to it alone or to the group, and nothing of the test needs that wait."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_SECONDS)
    with contextlib.suppress(ProcessLookupError):  # the group is gone: every service ended
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        if REQUIRE_SERVICES:
            pytest.fail(f"{CHROMIUM} is not installed; REQUIRE_SERVICES=1 makes the browser test mandatory")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = chromium.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(120_000)  # a loaded machine renders slowly
        try:
            yield page
        finally:
            chromium.close()


def _open(page, url: str, wait_for: str) -> None:
    """Go to a UI page and wait for a text on it."""
    page.goto(url, timeout=180_000)
    page.get_by_text(wait_for, exact=True).first.wait_for()


def _shot(page, name: str) -> None:
    if page.get_by_text("Join the Dagster community").count():  # not in the picture
        page.get_by_role("button", name="Skip").click()
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


GROUPS = ("sources", "identity", "customer_360", "product_and_stock", "data_quality", "features", "serving")


def test_the_dagster_ui_shows_the_demo_and_materializes_a_partition(demo, dagster_ui, browser):
    page = browser
    _open(page, f"{dagster_ui}/asset-groups", "Global asset lineage")
    for group in GROUPS:  # the asset graph's groups, in its side bar
        page.get_by_text(group, exact=True).first.wait_for()
    _shot(page, "1-asset-graph")

    _check_a_marts_page(page, dagster_ui, demo)
    _materialize_a_partition(page, dagster_ui, demo)


def _check_a_marts_page(page, base: str, demo) -> None:
    """marts/orders: its row count (as the published warehouse has it) and its column types."""
    import duckdb

    with duckdb.connect(str(demo.data_dir / "warehouse.duckdb"), read_only=True) as conn:
        (rows,) = conn.execute("select count(*) from marts.orders").fetchone()
        types = dict(conn.execute("select column_name, data_type from information_schema.columns "
                                  "where table_schema = 'marts' and table_name = 'orders'").fetchall())
    _open(page, f"{base}/assets/marts/orders", "Columns")
    page.get_by_text(re.compile(rf"^({rows}|{rows:,})$")).first.wait_for()  # its materialization's row count
    one_per_type = {data_type: name for name, data_type in reversed(list(types.items()))}
    for data_type, name in one_per_type.items():  # VARCHAR, BOOLEAN, DECIMAL(..), TIMESTAMP ...
        row = page.get_by_role("row").filter(has=page.get_by_text(name, exact=True)).first
        assert data_type in row.inner_text(), (name, data_type, row.inner_text())
    _shot(page, "2-marts-orders")


def _materialize_a_partition(page, base: str, demo) -> None:
    """raw/oms__orders, the last delivery day, through the Materialize dialog; the run must succeed."""
    import dagster as dg

    day = _delivery_days(demo.data_dir / "landing")[-1]
    key = dg.AssetKey(["raw", "oms__orders"])
    _open(page, f"{base}/assets/raw/oms__orders", "Columns")
    page.locator("button", has_text=re.compile(r"^Materialize")).first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Partition selection").wait_for()
    partitions = dialog.locator("input[type=text]").first
    partitions.fill(day)
    partitions.press("Enter")
    dialog.get_by_text("1 partition", exact=True).wait_for()
    _shot(page, "3-materialize-dialog")
    dialog.locator("button", has_text="Launch 1 run").click()
    run = _wait_for_ui_run(demo.home, timeout=1200)
    assert run.status == dg.DagsterRunStatus.SUCCESS, f"the UI's run {run.run_id} ended {run.status}"
    assert run.tags.get("dagster/partition") == day
    _open(page, f"{base}/runs/{run.run_id}", "Success")
    _shot(page, "4-run-succeeded")
    with dg.DagsterInstance.from_config(str(demo.home)) as instance:
        latest = instance.get_latest_materialization_event(key)
    assert latest.run_id == run.run_id and latest.asset_materialization.partition == day


def _wait_for_ui_run(dagster_home: Path, timeout: float):
    """The run the UI launched (the instance's run that is not the demo's), once it has ended."""
    import dagster as dg

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
            runs = [r for r in instance.get_runs() if r.job_name != "full_pipeline"
                    or "dagster/partition" in r.tags]
        if runs and runs[0].is_finished:
            _record("ui_run_seconds", round(time.monotonic() - started))
            return runs[0]
        time.sleep(5)
    pytest.fail(f"the run launched from the UI did not end within {timeout:.0f}s")
