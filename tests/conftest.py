"""Shared fixtures and the test tiers: isolated settings per test, a small generated shop and one
full pipeline run on it, each built once per session and shared read-only by every xdist worker,
and access to real services (Redis, PostgreSQL).

Tiers: a test that needs a pipeline run is marked `slow` (automatically when it uses `pipeline` or
`pipeline_settings`); `make test-fast` runs the others. A test not marked slow that starts a run
fails, and the terminal summary counts the session's runs. See docs/adr/test-tiers.md."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import time
import traceback
from collections import Counter
from pathlib import Path

import pytest

from dagster_project.settings import Settings

# CI sets REQUIRE_SERVICES=1: a missing Redis or PostgreSQL is then a failure, not a skip.
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
TEST_SCALE = float(os.environ.get("RCL_TEST_SCALE", "0.25"))
# Days of history of the worlds that scenario tests build for themselves (the session's shop has
# the small scale's 120): a scenario about runs, partitions or a person needs no long history,
# and each delivery day is a file per entity and a partition of every daily asset to record.
SCENARIO_DAYS = 30
# The shared Redis, read once: settings exported by a test (e.g. one on a private redis-server of
# its own, tests/test_faults.py) rewrite REDIS_URL in the environment for the processes they start.
SERVICE_REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
# The shared PostgreSQL server (trust auth on the project's machines); each test gets a database of its own.
SERVICE_POSTGRES = {
    "host": os.environ.get("RCL_TEST_PG_HOST", "127.0.0.1"),
    "port": int(os.environ.get("RCL_TEST_PG_PORT", "5432")),
    "user": os.environ.get("RCL_TEST_PG_USER", "postgres"),
}

# The salt the tests hash with (a deployment has none built in: RCL_PII_SALT, else its data dir's own).
TEST_PII_SALT = "retail-context-test-salt"

# Fixtures whose users need the session's pipeline run (marked slow) or a Redis server (marked redis).
PIPELINE_FIXTURES = {"pipeline", "pipeline_settings"}
REDIS_FIXTURES = {"redis_url", "private_redis"}
POSTGRES_FIXTURES = {"pg_url"}


def make_settings(data_dir: Path, world: str = "default", **overrides) -> Settings:
    """Settings for a data dir holding a generated world's files (its deployment settings applied)."""
    from dagster_project.sample_data.worlds import world_settings

    overrides = {**world_settings(world), **overrides}
    overrides.setdefault("feast_project", "retail_context_test")
    overrides.setdefault("pii_salt", TEST_PII_SALT)  # explicit; pii_salt=None tests the data dir's own salt
    return Settings.for_data_dir(data_dir, **overrides)


def duck(query: str, params=None, **frames):
    """A DuckDB query on a connection of its own, with `frames` (name=DataFrame) as tables. The
    module-wide default connection (`duckdb.sql`, `duckdb.execute`) keeps an unfinished result
    between calls (DuckDB 2.0), so one test's half-read result would break the next test in the
    same worker; and a connection of its own does not see the caller's local frames by name."""
    import duckdb

    con = duckdb.connect()
    for name, frame in frames.items():
        con.register(name, frame)
    return con.execute(query, params)


def use_settings_env(monkeypatch, settings: Settings) -> None:
    """The settings' variables in this process's environment for one test (Feast reads some
    from there), put back when the test ends."""
    for name, value in settings.env().items():
        monkeypatch.setenv(name, value)


def ensure_current_manifest(data_dir: Path) -> None:
    """The dbt manifest of the checkout's models, tests and macros: parsed (with `data_dir`'s
    settings) when missing or older than one of their files, else left as it is."""
    from dagster_project.defs.project import dbt_project, ensure_manifest
    from dagster_project.settings import DBT_PROJECT_DIR

    manifest = Path(dbt_project.manifest_path)
    sources = [p for folder in ("models", "tests", "macros") for p in (DBT_PROJECT_DIR / folder).rglob("*")
               if p.is_file()] + [DBT_PROJECT_DIR / "dbt_project.yml"]
    stale = not manifest.exists() or max(p.stat().st_mtime for p in sources) > manifest.stat().st_mtime
    ensure_manifest(make_settings(data_dir), refresh=stale)


# ---------------------------------------------------------------- built once per session

def _session_tmp(tmp_path_factory) -> Path:
    """The session's temporary folder that every xdist worker sees (pytest-xdist's recipe: the
    workers' base folders are siblings in it). RCL_TEST_SESSION_DIR names the session folder of an
    earlier run instead, to iterate on end-to-end tests without rebuilding its pipeline run (its
    builds are reused as they are: only with the same code; never set in CI)."""
    if os.environ.get("RCL_TEST_SESSION_DIR"):
        return Path(os.environ["RCL_TEST_SESSION_DIR"])
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def build_once(tmp_path_factory, name: str, build) -> Path:
    """`build(folder)` once for the whole session: the first xdist worker that asks builds under
    a file lock, the others wait and share the folder. A failed build fails them all at once
    instead of being retried by each worker."""
    from filelock import FileLock

    root = _session_tmp(tmp_path_factory)
    folder, built, failed = root / name, root / f"{name}.built", root / f"{name}.failed"
    with FileLock(root / f"{name}.lock"):
        if failed.exists():
            pytest.fail(f"the session's {name} build failed in another worker:\n{failed.read_text()}")
        if not built.exists():
            try:
                build(folder)
            except BaseException:
                failed.write_text(traceback.format_exc())
                raise
            built.touch()
    return folder


@pytest.fixture(scope="session")
def sample_landing(tmp_path_factory) -> Path:
    """A small generated shop's landing files, shared read-only by the session's tests."""
    from dagster_project.sample_data.generator import generate

    return build_once(tmp_path_factory, "sample", lambda folder: generate(folder / "landing", scale=TEST_SCALE, seed=7))


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory, sample_landing):
    """One real run of the full_pipeline job (ingest -> dbt -> GX -> Feast, SQLite online store)
    for the whole session: (settings, result). Every worker reads the same data dir and gets the
    run's result from its recorded events; a test that writes copies the data dir first."""
    import dagster as dg

    def build(data_dir: Path) -> None:
        from dagster_project.pipeline import run_pipeline

        shutil.copytree(sample_landing / "landing", data_dir / "landing")
        shutil.copytree(sample_landing / "ground_truth", data_dir / "ground_truth")
        result = run_pipeline(make_settings(data_dir))
        record = {"events": list(result.all_events), "run": result.dagster_run}
        (data_dir.parent / "pipeline_run.json").write_text(dg.serialize_value(record))

    data_dir = build_once(tmp_path_factory, "pipeline", build)
    settings = make_settings(data_dir)
    return settings, _recorded_result(settings, data_dir.parent / "pipeline_run.json")


def _recorded_result(settings, record_path: Path):
    """The run's result as the worker that ran it saw it, rebuilt from its serialized events."""
    import dagster as dg

    from dagster_project.defs import build_defs

    record = dg.deserialize_value(record_path.read_text())
    job = build_defs(settings).resolve_job_def("full_pipeline")
    return dg.ExecuteInProcessResult(record["events"], record["run"], None, job)


@pytest.fixture
def pipeline_settings(pipeline) -> Settings:
    """The session run's settings; fails the test if the shared data dir changed while it ran
    (tests that write must work on a copy: other workers read it at the same time)."""
    settings, result = pipeline
    assert result.success, "the session's pipeline run failed"
    before = _fingerprint(settings.data_dir)
    yield settings
    changed = _fingerprint(settings.data_dir) ^ before
    assert not changed, f"the session's shared data dir changed during this test (copy it first): {sorted(changed)[:5]}"


# SQLite's side files appear and go with readers (WAL mode): not a change of the data
_SIDE_FILES = ("-wal", "-shm", "-journal")


def _fingerprint(folder: Path) -> set[tuple[str, int, int]]:
    """(path, size, modification time) of every file and link under folder."""
    found = set()
    for path in folder.rglob("*"):
        if path.is_dir() and not path.is_symlink() or path.name.endswith(_SIDE_FILES):
            continue
        stat = path.lstat()
        found.add((str(path.relative_to(folder)), stat.st_size, stat.st_mtime_ns))
    return found


# ---------------------------------------------------------------- services

def _redis_available(url: str) -> str | None:
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return None
    except Exception as exc:  # any connection problem means "not available"
        return f"Redis at {url} is not reachable ({exc.__class__.__name__})"


@pytest.fixture
def redis_url() -> str:
    url = SERVICE_REDIS_URL
    _require_service(_redis_available(url))
    return url


def _require_service(problem: str | None) -> None:
    """Skip the test when a service is missing; fail it instead under REQUIRE_SERVICES=1."""
    if problem:
        if REQUIRE_SERVICES:
            pytest.fail(f"{problem}; REQUIRE_SERVICES=1 makes it mandatory")
        pytest.skip(problem)


def _postgres_available(server: dict) -> str | None:
    try:
        import psycopg2

        psycopg2.connect(dbname="postgres", connect_timeout=2, **server).close()
        return None
    except Exception as exc:  # any connection problem means "not available"
        return (f"PostgreSQL at {server['host']}:{server['port']} (user {server['user']}) is not reachable "
                f"({exc.__class__.__name__})")


@pytest.fixture
def pg_url():
    """A fresh, empty database on the shared PostgreSQL server for one test, as a dict of
    connection fields (host, port, user, dbname) and its URL under "url"; dropped afterwards."""
    import uuid

    import psycopg2

    _require_service(_postgres_available(SERVICE_POSTGRES))
    name = f"rcl_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(dbname="postgres", **SERVICE_POSTGRES)
    admin.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
    try:
        admin.cursor().execute(f'CREATE DATABASE "{name}"')
        server = SERVICE_POSTGRES
        yield {**server, "dbname": name, "url": f"postgresql://{server['user']}@{server['host']}:{server['port']}/{name}"}
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# ---------------------------------------------------------------- tiers and scheduling

@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items):
    """Marks, groups and orders the collected tests:
    - `slow` on users of the session's pipeline run, `redis` on users of a Redis server,
      `postgres` on users of a PostgreSQL database;
    - tests of one file go to one xdist worker (`--dist loadfile`: a module-scoped fixture is
      built once, not once per worker; the `xdist_group` mark only ranks them here);
    - the longest work first, so that no worker idles at the end while the other still runs a
      long scenario: slow module groups, the other slow tests that build their own data, the
      users of the session's run (one worker builds it meanwhile), then the fast tier, its
      module groups and the modules marked `heavy` first (a long module last would keep
      one worker busy after the others finished)."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & PIPELINE_FIXTURES:
            item.add_marker(pytest.mark.slow)
        if fixtures & REDIS_FIXTURES:
            item.add_marker(pytest.mark.redis)
        if fixtures & POSTGRES_FIXTURES:
            item.add_marker(pytest.mark.postgres)
        if _uses_a_module_fixture(item) and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))

    def rank(item) -> int:
        grouped = item.get_closest_marker("xdist_group") is not None
        if item.get_closest_marker("slow") is None:
            return 3 if grouped or item.get_closest_marker("heavy") else 4
        if grouped:
            return 0
        return 2 if set(item.fixturenames) & PIPELINE_FIXTURES else 1

    items.sort(key=rank)  # stable: the file order within each rank


def _uses_a_module_fixture(item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(defs and defs[-1].scope == "module" for defs in info.name2fixturedefs.values())


# ---------------------------------------------------------------- pipeline runs: guard and count

_current_test: pytest.Item | None = None
_pipeline_runs: list[dict] = []  # this process's runs: test, job, seconds


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    global _current_test
    _current_test = item
    try:
        return (yield)
    finally:
        _current_test = None


def _guarded(run_pipeline):
    @functools.wraps(run_pipeline)
    def run(*args, **kwargs):
        test = _current_test
        if test is not None and test.get_closest_marker("slow") is None:
            pytest.fail(f"{test.nodeid} runs the whole pipeline but is not marked slow: mark it "
                        "(pytest.mark.slow) or test the assets it needs on their own", pytrace=False)
        started = time.monotonic()
        try:
            with _dbt_parsed_once_per_process():
                return run_pipeline(*args, **kwargs)
        finally:
            _pipeline_runs.append({"test": test.nodeid if test else "(outside a test)",
                                   "job": kwargs.get("job", "full_pipeline"),
                                   "seconds": round(time.monotonic() - started, 1)})
    return run


_dbt_parsed = False


@contextlib.contextmanager
def _dbt_parsed_once_per_process():
    """run_pipeline parses the dbt project on every call (a demo must never run an older
    checkout's manifest): several seconds each time. The models do not change during a test
    session, so each process parses them once."""
    global _dbt_parsed
    if not _dbt_parsed:
        yield
        _dbt_parsed = True
        return
    import dagster_project.defs.project as project

    with pytest.MonkeyPatch.context() as patch:
        parse = project.ensure_manifest
        patch.setattr(project, "ensure_manifest", lambda settings=None, refresh=False: parse(settings, refresh=False))
        yield


def pytest_configure(config):
    import dagster_project.pipeline as pipeline

    original = pipeline.run_pipeline
    # before the test modules import it: `from dagster_project.pipeline import run_pipeline` gets the guard
    pipeline.run_pipeline = _guarded(original)
    config.add_cleanup(lambda: setattr(pipeline, "run_pipeline", original))


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the runs to the controller
        workeroutput["pipeline_runs"] = json.dumps(_pipeline_runs)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    _pipeline_runs.extend(json.loads(getattr(node, "workeroutput", {}).get("pipeline_runs", "[]")))


def pytest_terminal_summary(terminalreporter):
    if not _pipeline_runs:
        return
    jobs = Counter(run["job"] for run in _pipeline_runs)
    seconds = Counter()
    runs = Counter()
    for run in _pipeline_runs:
        seconds[run["test"]] += run["seconds"]
        runs[run["test"]] += 1
    terminalreporter.section("pipeline runs in process")
    terminalreporter.line(", ".join(f"{n} {job}" for job, n in jobs.most_common())
                          + f"; {sum(seconds.values()):.0f} s in all (runs started in a subprocess not counted)")
    for test, total in seconds.most_common():
        terminalreporter.line(f"{total:7.1f} s  {runs[test]} x  {test}")
