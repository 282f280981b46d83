"""Never a half-published feature view (dagster_project/feast_ext/online_stores.py): a publish interrupted at
any point - Redis stopped midway, the publishing process killed with SIGKILL - leaves every
entity of the view with its previous values; the retry or re-run ends in exactly the state of an
uninterrupted run; and a re-publish replaces values even at the same event timestamp.

Real Feast, real SQLite and real `redis-server`s of the test's own (tests/test_faults.py
`private_redis`). The feature table is a synthetic product_features table (the registry's schema)
with enough products that a publish takes a few seconds, so that it can be interrupted midway.
"Midway" is observed from the outside, the same way whatever the store does: the publish has
sent Redis half of the bytes an uninterrupted publish of the same table sends (Redis's
`total_net_input_bytes`), or SQLite's WAL/journal file has grown past 1 MB.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import redis

from dagster_project.feast_ext.feature_tables import feature_table_path
from dagster_project.feast_ext.publish import OnlineStoreUnavailable, materialize_view
from dagster_project.feast_ext.repo import apply_feature_repo, get_feature_store
from dagster_project.settings import REPO_ROOT

from conftest import make_settings
from test_faults import private_redis  # noqa: F401  (fixture)

VIEW = "product_features"
ENTITIES = int(os.environ.get("RCL_ATOMIC_TEST_ENTITIES", "20000"))
PROJECT = "rcl_atomic"


# ---------------------------------------------------------------- helpers

def _features(settings) -> list:
    return list(get_feature_store(settings).get_feature_view(VIEW).features)


def product_table(settings, n: int, version: int, day: int = 1, seed: int = 0) -> pd.DataFrame:
    """n products with values of every feature of the view; `version` shifts every value (so
    two versions differ in every feature of every entity), `day` sets the event timestamp."""
    rng = np.random.default_rng(seed)
    frame = {"product_id": [f"prd_{i:07d}" for i in range(n)]}
    for field in _features(settings):
        kind = str(field.dtype)
        if "Float" in kind:
            frame[field.name] = np.round(rng.random(n) * 100, 2) + version
        elif "Int" in kind:
            frame[field.name] = rng.integers(0, 1000, n) + version
        elif "Bool" in kind:
            frame[field.name] = (rng.integers(0, 2, n) + version) % 2 == 1
        else:
            frame[field.name] = [f"{field.name}_{v}_{version}" for v in rng.integers(0, 20, n)]
    # like the dbt export: naive UTC microseconds
    frame["event_timestamp"] = np.full(n, np.datetime64("2026-10-01", "us") + np.timedelta64(day, "D"))
    return pd.DataFrame(frame)


def write_table(settings, table: pd.DataFrame) -> None:
    path = feature_table_path(settings, VIEW)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(path, index=False)


def online_values(settings, ids) -> dict:
    """What a reader gets: every feature of the view for every entity, through Feast."""
    features = [f"{VIEW}:{f.name}" for f in _features(settings)]
    return get_feature_store(settings).get_online_features(
        features=features, entity_rows=[{"product_id": p} for p in ids]
    ).to_dict()


def expected_values(table: pd.DataFrame) -> dict:
    return {c: table[c].tolist() for c in table.columns if c != "event_timestamp"}


def redis_state(url: str) -> dict:
    """Everything in one Redis database: hashes field by field, sets member by member."""
    client = redis.Redis.from_url(url)
    state = {}
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        state[key] = client.hgetall(key) if kind == b"hash" else client.smembers(key) if kind == b"set" else kind
    return state


def sqlite_state(path: Path) -> dict:
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
        return {
            t: sorted(conn.execute(f'select entity_key, feature_name, value, value_text, event_ts, created_ts from "{t}"'))
            for t in tables
        }


def input_bytes(url: str) -> int:
    return redis.Redis.from_url(url).info("stats")["total_net_input_bytes"]


def measured_publish(settings, url: str) -> int:
    """Publish the view uninterrupted; returns the bytes it sent to Redis."""
    before = input_bytes(url)
    materialize_view(settings, VIEW)
    return input_bytes(url) - before


def intervals(settings) -> int:
    return len(get_feature_store(settings).get_feature_view(VIEW).materialization_intervals)


def wait_for(condition, alive, what: str, timeout: float = 300) -> None:
    """Poll `condition` while the publish is `alive`; fail if it ended first (too fast to interrupt)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if not alive():
            pytest.fail(f"the publish ended before {what}: raise RCL_ATOMIC_TEST_ENTITIES ({ENTITIES})")
        time.sleep(0.002)
    pytest.fail(f"timed out waiting for {what}")


# ---------------------------------------------------------------- Redis stopped midway

@pytest.mark.slow
def test_redis_stopped_midway_through_a_publish_applies_nothing(private_redis, tmp_path):  # noqa: F811
    settings = make_settings(tmp_path / "data", online_store="redis", redis_url=private_redis.url, feast_project=PROJECT)
    apply_feature_repo(settings)
    v1 = product_table(settings, ENTITIES, version=0, day=1)
    ids = v1.product_id.tolist()
    write_table(settings, v1)
    sent = measured_publish(settings, private_redis.url)
    previous = online_values(settings, ids)
    assert previous == expected_values(v1)

    # the next day's table: every value of every product changes
    v2 = product_table(settings, ENTITIES, version=1, day=2)
    write_table(settings, v2)
    outcome = {}

    def publish():
        try:
            outcome["report"] = materialize_view(settings, VIEW, attempts=2, first_delay=0.2)
        except Exception as exc:  # noqa: BLE001 - inspected below
            outcome["error"] = exc

    base = input_bytes(private_redis.url)
    worker = threading.Thread(target=publish)
    worker.start()
    wait_for(lambda: input_bytes(private_redis.url) - base >= sent // 2, worker.is_alive,
             "half of the publish reached Redis")
    private_redis.kill()  # Redis dies midway (its append-only file keeps what it applied)
    worker.join(timeout=120)
    assert isinstance(outcome.get("error"), OnlineStoreUnavailable), outcome  # retried, then reported
    assert "'product_features'" in str(outcome["error"])

    private_redis.start()
    assert online_values(settings, ids) == previous  # every entity: the previous publish, whole
    assert intervals(settings) == 1

    report = materialize_view(settings, VIEW)  # the retry publishes everything
    assert report["entities"] == ENTITIES
    assert online_values(settings, ids) == expected_values(v2)
    assert intervals(settings) == 2


# ---------------------------------------------------------------- publishing process killed

PUBLISH_SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from conftest import make_settings
    from dagster_project.feast_ext.publish import materialize_view
    settings = make_settings(Path({data!r}), feast_dir=Path({feast!r}), online_store={store!r},
                             redis_url={url!r}, feast_project={project!r})
    materialize_view(settings, {view!r})
    print("published", flush=True)
    """
)


def _publish_in_subprocess(settings, log: Path) -> subprocess.Popen:
    code = PUBLISH_SCRIPT.format(
        tests=str(REPO_ROOT / "tests"), data=str(settings.data_dir), feast=str(settings.feast_dir),
        store=settings.online_store, url=settings.redis_url, project=settings.feast_project, view=VIEW,
    )
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, stdout=open(log, "wb"),
                            stderr=subprocess.STDOUT)


def _kill(proc: subprocess.Popen, log: Path) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, log.read_text(errors="replace")[-3000:]


@pytest.mark.slow
def test_a_publish_killed_midway_and_rerun_equals_an_uninterrupted_run_redis(private_redis, tmp_path):  # noqa: F811
    """Reference: Redis database 1, publishes v1 then v2 uninterrupted. Killed: database 0,
    publishes v1, then v2 in a process killed with SIGKILL midway, then v2 again."""
    data = tmp_path / "data"
    url = private_redis.url.rsplit("/", 1)[0]
    reference = make_settings(data, feast_dir=tmp_path / "feast_reference", online_store="redis",
                              redis_url=f"{url}/1", feast_project=PROJECT)
    killed = make_settings(data, feast_dir=tmp_path / "feast_killed", online_store="redis",
                           redis_url=f"{url}/0", feast_project=PROJECT)
    apply_feature_repo(reference)
    apply_feature_repo(killed)
    v1 = product_table(killed, ENTITIES, version=0, day=1)
    write_table(killed, v1)
    materialize_view(reference, VIEW)
    materialize_view(killed, VIEW)
    previous = redis_state(killed.redis_url)
    assert previous == redis_state(reference.redis_url)

    v2 = product_table(killed, ENTITIES, version=1, day=2)
    write_table(killed, v2)
    sent = measured_publish(reference, url)
    expected = redis_state(reference.redis_url)

    log = tmp_path / "killed.log"
    base = input_bytes(url)
    proc = _publish_in_subprocess(killed, log)
    try:
        wait_for(lambda: input_bytes(url) - base >= sent // 2, lambda: proc.poll() is None,
                 "half of the publish reached Redis")
    finally:
        _kill(proc, log)
    # killed midway: readers still see the previous publish of every entity, nothing new
    assert redis_state(killed.redis_url) == previous

    materialize_view(killed, VIEW)  # the re-run
    assert redis_state(killed.redis_url) == expected
    assert online_values(killed, v2.product_id) == expected_values(v2)
    assert intervals(killed) == intervals(reference) == 2


@pytest.mark.slow
def test_a_publish_killed_midway_and_rerun_equals_an_uninterrupted_run_sqlite(tmp_path):
    """The same on the embedded SQLite store; midway = the write transaction has spilled more
    than 1 MB to the WAL (or journal) file."""
    data = tmp_path / "data"
    reference = make_settings(data, feast_dir=tmp_path / "feast_reference", feast_project=PROJECT)
    killed = make_settings(data, feast_dir=tmp_path / "feast_killed", feast_project=PROJECT)
    apply_feature_repo(reference)
    apply_feature_repo(killed)
    write_table(killed, product_table(killed, ENTITIES, version=0, day=1))
    materialize_view(reference, VIEW)
    materialize_view(killed, VIEW)
    db = killed.feast_dir / "online_store.db"
    previous = sqlite_state(db)
    assert previous == sqlite_state(reference.feast_dir / "online_store.db")

    v2 = product_table(killed, ENTITIES, version=1, day=2)
    write_table(killed, v2)
    materialize_view(reference, VIEW)
    expected = sqlite_state(reference.feast_dir / "online_store.db")

    def spilled() -> bool:
        sizes = [p.stat().st_size for p in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-journal"))
                 if p.exists()]
        return max(sizes, default=0) > 1 << 20

    log = tmp_path / "killed.log"
    proc = _publish_in_subprocess(killed, log)
    try:
        wait_for(spilled, lambda: proc.poll() is None, "the write transaction spilled to disk")
    finally:
        _kill(proc, log)
    assert sqlite_state(db) == previous

    materialize_view(killed, VIEW)
    assert sqlite_state(db) == expected
    assert online_values(killed, v2.product_id) == expected_values(v2)


# ---------------------------------------------------------------- corrections and removals

@pytest.mark.parametrize("store", ["redis", "sqlite"])
def test_a_republish_replaces_values_at_the_same_timestamp_and_removes_gone_entities(store, private_redis, tmp_path):  # noqa: F811
    """A fixed upstream bug re-published with the same event timestamps replaces the values
    (Feast's Redis store kept the old ones); products gone from the table leave the store."""
    kwargs = dict(online_store="redis", redis_url=private_redis.url) if store == "redis" else {}
    settings = make_settings(tmp_path / "data", feast_project=PROJECT, **kwargs)
    apply_feature_repo(settings)
    original = product_table(settings, 200, version=0, day=1)
    ids = original.product_id.tolist()
    write_table(settings, original)
    materialize_view(settings, VIEW)
    assert online_values(settings, ids) == expected_values(original)

    corrected = product_table(settings, 200, version=0, day=1)
    corrected["price"] = corrected["price"] + 0.5  # same event_timestamp, corrected price
    kept = corrected.iloc[:150]  # 50 products were delisted upstream
    write_table(settings, kept)
    report = materialize_view(settings, VIEW)
    got = online_values(settings, ids)
    assert got["price"][:150] == kept["price"].tolist()
    assert got["price"][:150] != original["price"].tolist()[:150]
    assert {k: v[:150] for k, v in got.items()} == expected_values(kept)
    assert all(all(got[f.name][i] is None for f in _features(settings)) for i in range(150, 200))
    assert (report["entities"], report["removed"]) == (150, 50)
