"""Shared fixtures: isolated settings per test, one full pipeline run per test session (per
xdist worker) on a small generated shop, and access to real services (Redis)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dagster_project.settings import Settings

# CI sets REQUIRE_SERVICES=1: a missing Redis or PostgreSQL is then a failure, not a skip.
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
TEST_SCALE = float(os.environ.get("RCL_TEST_SCALE", "0.25"))
# The shared Redis, read once: settings exported by a test (e.g. one on a private redis-server of
# its own, tests/test_faults.py) rewrite REDIS_URL in the environment for the processes they start.
SERVICE_REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")


def make_settings(data_dir: Path, world: str = "default", **overrides) -> Settings:
    """Settings for a data dir holding a generated world's files (its deployment settings applied)."""
    from dagster_project.sample_data.worlds import world_settings

    overrides = {**world_settings(world), **overrides}
    overrides.setdefault("feast_project", "retail_context_test")
    return Settings.for_data_dir(data_dir, **overrides)


def use_settings_env(monkeypatch, settings: Settings) -> None:
    """The settings' variables in this process's environment for one test (Feast reads some
    from there), put back when the test ends."""
    for name, value in settings.env().items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def sample_landing(tmp_path_factory) -> Path:
    """A small generated shop's landing files, shared read-only by the session's tests."""
    from dagster_project.sample_data.generator import generate

    data_dir = tmp_path_factory.mktemp("sample")
    generate(data_dir / "landing", scale=TEST_SCALE, seed=7)
    return data_dir


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory, sample_landing):
    """One real run of the full_pipeline job (ingest -> dbt -> GX -> Feast, SQLite online store)."""
    from dagster_project.pipeline import run_pipeline

    data_dir = tmp_path_factory.mktemp("pipeline")
    shutil.copytree(sample_landing / "landing", data_dir / "landing")
    shutil.copytree(sample_landing / "ground_truth", data_dir / "ground_truth")
    settings = make_settings(data_dir)
    result = run_pipeline(settings)
    return settings, result


@pytest.fixture
def pipeline_settings(pipeline) -> Settings:
    settings, result = pipeline
    assert result.success, "the session's pipeline run failed"
    return settings


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
    problem = _redis_available(url)
    if problem:
        if REQUIRE_SERVICES:
            pytest.fail(f"{problem}; REQUIRE_SERVICES=1 makes it mandatory")
        pytest.skip(problem)
    return url
