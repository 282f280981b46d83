"""The PII salt: no built-in one. A data dir without RCL_PII_SALT gets a random salt of its own,
created once (mode 0600) where a run or a dbt command needs it and read by every later one;
reading settings creates nothing; dbt hashes with it; a known demo salt or a short one is refused
under RCL_PROFILE=production."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import make_settings
from dagster_project.pii_salt import ensure_data_dir_salt, known_pii_salt, salt_path, with_pii_salt
from dagster_project.settings import KNOWN_DEMO_PII_SALTS, REPO_ROOT, Settings

pytestmark = pytest.mark.heavy  # tens of seconds in all: run early in its tier (tests/conftest.py)

RCL = Path(sys.executable).with_name("rcl")


def _without_salt() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("RCL_PII_SALT", "RCL_PROFILE")}


def test_a_fresh_data_dir_gets_a_private_random_salt_once(tmp_path):
    data_dir = tmp_path / "data"
    settings = Settings.from_env({"RCL_DATA_DIR": str(data_dir)})
    assert settings.pii_salt is None and not data_dir.exists()  # reading settings creates nothing
    first = with_pii_salt(settings)
    path = salt_path(data_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(first.pii_salt) == 64 and int(first.pii_salt, 16) >= 0
    assert first.pii_salt not in KNOWN_DEMO_PII_SALTS
    # the second run (a new process reads the same file) hashes with the same salt
    assert with_pii_salt(Settings.from_env({"RCL_DATA_DIR": str(data_dir)})).pii_salt == first.pii_salt
    assert known_pii_salt(settings) == first.pii_salt
    assert [p.name for p in path.parent.iterdir()] == ["pii_salt"]  # no temporary file left behind
    # another data dir, another salt
    assert with_pii_salt(make_settings(tmp_path / "other", pii_salt=None)).pii_salt != first.pii_salt


def test_processes_starting_at_once_agree_on_one_salt(tmp_path):
    with ThreadPoolExecutor(8) as pool:
        salts = set(pool.map(lambda _: ensure_data_dir_salt(tmp_path / "data"), range(16)))
    assert len(salts) == 1 and salts == {salt_path(tmp_path / "data").read_text().strip()}


def test_an_explicit_salt_wins_and_creates_no_file(tmp_path):
    settings = make_settings(tmp_path / "data", pii_salt="an-explicit-salt-of-the-deployment")
    assert with_pii_salt(settings) == settings
    assert not salt_path(tmp_path / "data").exists()


@pytest.mark.parametrize("salt", [*sorted(KNOWN_DEMO_PII_SALTS), "short-secret"])
def test_the_production_profile_refuses_a_known_or_short_salt(tmp_path, salt):
    environ = {"RCL_DATA_DIR": str(tmp_path / "data"), "RCL_PROFILE": "production", "RCL_PII_SALT": salt}
    with pytest.raises(ValueError, match="RCL_PROFILE=production"):
        Settings.from_env(environ)
    with pytest.raises(ValueError, match="RCL_PROFILE=production"):
        Settings.for_data_dir(tmp_path / "data", profile="production", pii_salt=salt)
    # the development profile takes it (demos, tests)
    assert Settings.from_env({**environ, "RCL_PROFILE": "development"}).pii_salt == salt
    # and `rcl` says so in one line, exit code 1
    proc = subprocess.run([str(RCL), "env", "--data-dir", str(tmp_path / "data")], capture_output=True, text=True,
                          env={**_without_salt(), **environ, "PYTHONPATH": str(REPO_ROOT)}, timeout=300)
    assert proc.returncode == 1 and "refused with RCL_PROFILE=production" in proc.stderr, proc.stderr[-2000:]


def test_the_production_profile_takes_the_generated_salt_and_a_long_one(tmp_path):
    settings = Settings.from_env({"RCL_DATA_DIR": str(tmp_path / "data"), "RCL_PROFILE": "production"})
    assert len(with_pii_salt(settings).pii_salt) == 64
    with pytest.raises(ValueError, match="RCL_PROFILE must be one of"):
        Settings.from_env({"RCL_DATA_DIR": str(tmp_path / "data"), "RCL_PROFILE": "prod"})


def test_dbt_hashes_with_the_data_dirs_generated_salt(tmp_path):
    """`rcl env` and `rcl dbt` without RCL_PII_SALT: the data dir's salt is created, exported and
    compiled into the staging models' hashes; an empty salt stops dbt instead of hashing unsalted."""
    data_dir = tmp_path / "data"
    env = {**_without_salt(), "PYTHONPATH": str(REPO_ROOT)}
    dbt = subprocess.run([str(RCL), "dbt", "--data-dir", str(data_dir), "--", "compile", "--quiet",
                          "--select", "stg_crm__customers", "--target-path", str(tmp_path / "target")],
                         env=env, capture_output=True, text=True, timeout=600)
    assert dbt.returncode == 0, dbt.stdout[-2000:] + dbt.stderr[-2000:]
    salt = salt_path(data_dir).read_text().strip()
    (compiled,) = (tmp_path / "target" / "compiled").rglob("stg_crm__customers.sql")
    assert f"sha256('{salt}' ||" in compiled.read_text()
    exports = subprocess.run([str(RCL), "env", "--data-dir", str(data_dir)], env=env, capture_output=True,
                             text=True, timeout=300)
    assert exports.returncode == 0 and f"export RCL_PII_SALT={salt}" in exports.stdout.splitlines()
    # dbt by hand with an empty salt: refused at compile time
    bare = {**env, **Settings.for_data_dir(data_dir, pii_salt=None).env()}
    assert bare["RCL_PII_SALT"] == ""
    plain = subprocess.run([str(Path(sys.executable).with_name("dbt")), "compile", "--quiet", "--select",
                            "stg_crm__customers", "--target-path", str(tmp_path / "bare_target"),
                            "--profiles-dir", str(REPO_ROOT / "dbt")],
                           cwd=REPO_ROOT / "dbt", env=bare, capture_output=True, text=True, timeout=600)
    assert plain.returncode != 0 and "pii_salt (RCL_PII_SALT) is empty" in plain.stdout + plain.stderr


def test_the_identity_benchmark_reads_the_salt_the_run_hashed_with(tmp_path):
    """bench/identity.py scores a warehouse with RCL_PII_SALT, else its data dir's salt file, and
    never creates one (a new salt would match no hash)."""
    from bench.identity import default_salt

    settings = make_settings(tmp_path / "data", pii_salt=None)
    with pytest.raises(ValueError, match="no PII salt"):
        default_salt(settings)
    assert not salt_path(tmp_path / "data").exists()
    generated = with_pii_salt(settings).pii_salt
    assert default_salt(settings) == generated
    assert default_salt(make_settings(tmp_path / "data", pii_salt="the-deployments-own-salt")) == "the-deployments-own-salt"
