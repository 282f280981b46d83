"""Analysts read the warehouse while the pipeline writes: the published path always opens
read-only without lock errors and always shows a complete build."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from dagster_project.publish import publish_warehouse

from conftest import make_settings

pytestmark = pytest.mark.slow


def _orders(path) -> int:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute("select count(*) from marts.orders").fetchone()[0]


def test_publish_swaps_atomically_and_open_readers_keep_their_build(pipeline_settings, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(pipeline_settings.data_dir, data_dir, symlinks=True)
    settings = make_settings(data_dir)
    link = settings.published_warehouse
    assert link.is_symlink() and _orders(link) > 0

    reader = duckdb.connect(str(link), read_only=True)
    before = reader.execute("select count(*) from marts.orders").fetchone()[0]
    first_target = link.resolve()

    # the pipeline writes (a write connection holds the working file) ...
    with duckdb.connect(str(settings.warehouse_path)) as writer:
        writer.execute("delete from marts.orders where order_id in (select order_id from marts.orders limit 10)")
        # ... and analysts still open the published build, read-only, with no lock error
        assert _orders(link) == before
    for _ in range(4):  # more publications than are kept
        publication = publish_warehouse(settings, keep=3)
    assert link.resolve() == publication.path != first_target
    assert _orders(link) == before - 10
    # the reader opened before the swaps still reads its complete build, though its file is gone
    assert not first_target.exists()
    assert reader.execute("select count(*) from marts.orders").fetchone()[0] == before
    reader.close()
    assert len(list(publication.path.parent.glob("warehouse-*.duckdb"))) == 3


def test_readers_never_fail_during_a_real_pipeline_run(pipeline_settings, tmp_path):
    """Reads all through the nightly run of the last delivery day on a copy of the session's build:
    it rewrites the day's raw rows, every unpartitioned model and feature table, and publishes."""
    data_dir = tmp_path / "data"
    shutil.copytree(pipeline_settings.data_dir, data_dir, symlinks=True)
    settings = make_settings(data_dir)
    env = {**os.environ, **settings.env()}
    env.pop("DAGSTER_HOME", None)  # the command's default: an ephemeral Dagster instance
    published_before = settings.published_warehouse.resolve()
    last_day = max(p.stem for p in (settings.landing_dir / "oms" / "orders").glob("*.csv"))
    log = tmp_path / "run.log"
    with open(log, "w") as out:
        run = subprocess.Popen([str(Path(sys.executable).with_name("rcl")), "run", "--landing-dir",
                                str(data_dir / "landing"), "--data-dir", str(data_dir), "--partition", last_day],
                               env=env, stdout=out, stderr=subprocess.STDOUT)
        reads, errors = 0, []
        # the whole run is read through, however long it takes on a busy machine (the limit only
        # guards against a hang)
        deadline = time.monotonic() + 3600
        while run.poll() is None and time.monotonic() < deadline:
            try:
                assert _orders(settings.published_warehouse) > 0
                reads += 1
            except Exception as exc:  # any failure to read is what this test is about
                errors.append(repr(exc))
            time.sleep(0.2)
        if run.poll() is None:
            run.kill()
    assert run.wait(timeout=60) == 0, log.read_text()[-3000:]
    assert errors == []
    assert reads > 50
    assert settings.published_warehouse.resolve() != published_before  # the run published while read


def test_publishing_over_the_working_file_is_refused(tmp_path):
    settings = make_settings(tmp_path, published_warehouse_path=tmp_path / "work" / "warehouse.duckdb")
    with pytest.raises(ValueError, match="same file"):
        publish_warehouse(settings)
