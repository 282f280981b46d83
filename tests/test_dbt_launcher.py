"""dbt commands start from a warm dbt (defs/dbt_launcher.py serve): each command is a fork of a
process that imported dbt once. What dbt sees must not change: the command's variables, working
folder, output and exit code are the ones an ordinary `dbt` process would have; the server ends
with the process that started it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dagster_project.defs.project import DBT_EXECUTABLE, DBT_LAUNCHER, WarmDbt, dbt_cli
from dagster_project.pii_salt import with_pii_salt

from conftest import make_settings

pytestmark = pytest.mark.heavy  # tens of seconds in all: run early in its tier (tests/conftest.py)


def _launch(warm_socket: str | None, env_vars: dict[str, str], args: list[str], tmp_path: Path, cwd: Path):
    """The launcher as dagster-dbt starts it: from the warm server when `warm_socket` is given,
    else as an ordinary dbt process."""
    env_file = tmp_path / f"env-{time.monotonic_ns()}.json"
    env_file.write_text(json.dumps(env_vars))
    mode = ["run", warm_socket, str(env_file)] if warm_socket else ["exec", str(env_file), DBT_EXECUTABLE]
    result = subprocess.run([sys.executable, "-I", DBT_LAUNCHER, *mode, *args], cwd=cwd, capture_output=True,
                            text=True, timeout=120)
    assert not env_file.exists(), "the launcher removes the variables' file once dbt starts"
    return result


@pytest.fixture
def warm_socket():
    path = WarmDbt.socket()
    assert path is not None, "the warm dbt server did not start"
    return path


def test_a_warm_command_sees_what_an_ordinary_one_sees(tmp_path, warm_socket):
    variables = {"DBT_PROFILES_DIR": str(tmp_path / "profiles-from-the-variables")}
    cwd = tmp_path / "workdir"
    cwd.mkdir()
    ordinary = _launch(None, variables, ["debug", "--config-dir"], tmp_path, cwd)
    warm = _launch(warm_socket, variables, ["debug", "--config-dir"], tmp_path, cwd)
    assert ordinary.returncode == warm.returncode == 0, (ordinary.stderr, warm.stderr)
    # the profiles folder comes from the command's variables, not from the server's environment
    assert variables["DBT_PROFILES_DIR"] in warm.stdout
    strip = lambda out: [line.split("  ", 1)[-1] for line in out.splitlines()]  # noqa: E731 (timestamps)
    assert strip(warm.stdout) == strip(ordinary.stdout)


def test_a_warm_command_exits_with_dbts_exit_code(tmp_path, warm_socket):
    ordinary = _launch(None, {}, ["no-such-command"], tmp_path, tmp_path)
    warm = _launch(warm_socket, {}, ["no-such-command"], tmp_path, tmp_path)
    assert ordinary.returncode == warm.returncode == 2
    assert "no-such-command" in warm.stderr


def test_the_pipelines_dbt_resource_runs_from_the_warm_server(tmp_path, warm_socket):
    settings = with_pii_salt(make_settings(tmp_path / "data"))
    invocation = dbt_cli().cli(["ls", "--select", "orders", "--output", "name"], env=settings.env(),
                               target_path=tmp_path / "target")
    assert invocation.process.args[2:5] == [DBT_LAUNCHER, "run", warm_socket]
    lines = [e.raw_event["info"]["msg"] for e in invocation.stream_raw_events() if hasattr(e, "raw_event")]
    assert invocation.wait().is_successful()
    assert "orders" in lines


def test_the_server_ends_with_the_process_that_started_it(tmp_path):
    script = ("import sys, time; from dagster_project.defs.project import WarmDbt; WarmDbt.socket(); "
              "print(WarmDbt._process.pid, flush=True); time.sleep(600)")
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        server = int(owner.stdout.readline())
        os.kill(server, 0)  # running
    finally:
        owner.send_signal(signal.SIGKILL)  # no atexit: the server notices on its own
        owner.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(server, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(server, signal.SIGKILL)
    pytest.fail("the warm dbt server outlived the process that started it")


def test_warm_commands_leave_nothing_behind_for_the_resource_tracker(tmp_path):
    """A warm command's process ends the way dbt's own does, its finalizers run: multiprocessing's
    resource tracker (shared by the server's forks) must not report leaked semaphores at the end
    of a run, which `make demo` would print."""
    script = f"""
import sys
from pathlib import Path
from dagster_project.defs.project import WarmDbt, dbt_cli
from dagster_project.pii_salt import with_pii_salt
from dagster_project.settings import Settings
settings = with_pii_salt(Settings.for_data_dir(Path({str(tmp_path / 'data')!r}), pii_salt="s"))
invocation = dbt_cli().cli(["ls", "--select", "orders"], env=settings.env(), target_path=Path({str(tmp_path)!r}) / "t")
assert invocation.process.args[3] == "run" and invocation.wait().is_successful()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "leaked" not in done.stderr, done.stderr[-3000:]


def test_a_warm_command_ends_with_its_warehouse_closed_and_checkpointed(tmp_path, warm_socket):
    """A command's process skips the interpreter's teardown, but only after dbt's exit handlers:
    its DuckDB file is closed (nothing left in a write-ahead log a copy would miss) and the next
    writer opens it at once."""
    import duckdb

    from test_dbt_staging import create_raw_tables

    settings = with_pii_salt(make_settings(tmp_path / "data"))
    settings.warehouse_path.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        create_raw_tables(con)
    invocation = dbt_cli().cli(["run", "--select", "stg_pim__products stg_wms__locations"], env=settings.env(),
                               target_path=tmp_path / "target")
    assert invocation.process.args[3] == "run"
    assert invocation.wait().is_successful()
    assert not settings.warehouse_path.with_name(settings.warehouse_path.name + ".wal").exists()
    with duckdb.connect(str(settings.warehouse_path)) as con:  # read-write: no other process holds it
        built = {r[0] for r in con.execute("select table_name from duckdb_tables() union all "
                                           "select view_name from duckdb_views() where not internal").fetchall()}
    assert {"stg_pim__products", "stg_wms__locations"} <= built
