"""Configuration enters once: Settings hold every default and read without side effects, child
processes get `settings.env()`, the Dagster resource feeds the runs, importing writes nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.defs.resources import RclSettings
from dagster_project.settings import DBT_PROJECT_DIR, ENV_VARIABLES, REPO_ROOT, Settings

pytestmark = pytest.mark.heavy  # tens of seconds in all: run early in its tier (tests/conftest.py)

# Feast's own import sets PROMETHEUS_MULTIPROC_DIR (feast/metrics.py) and creates that temp
# folder: third-party behaviour, so the libraries are imported before the snapshot and only
# what the project's module adds is compared.
IMPORT_PROBE = """
import importlib, json, os, sys
import dagster, feast
before = dict(os.environ)
importlib.import_module(sys.argv[1])
after = dict(os.environ)
print("ENV " + json.dumps({k: [before.get(k), after.get(k)] for k in set(before) | set(after) if before.get(k) != after.get(k)}))
"""


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("module", ["dagster_project.definitions", "feature_repo.feature_views"])
def test_importing_changes_no_environment_variable_and_creates_no_folder(module, tmp_path):
    cwd, data_dir, home = tmp_path / "cwd", tmp_path / "data", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONPATH": str(REPO_ROOT), "RCL_DATA_DIR": str(data_dir)}
    proc = subprocess.run([sys.executable, "-c", IMPORT_PROBE, module], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    changed = json.loads(next(line[4:] for line in proc.stdout.splitlines() if line.startswith("ENV ")))
    assert changed == {}
    assert _tree(cwd) == []
    assert not data_dir.exists()


def test_from_env_reads_only_and_env_gives_the_same_settings_back(tmp_path):
    environ = {"RCL_DATA_DIR": str(tmp_path / "data"), "RCL_PII_SALT": "s3cret", "RCL_MAX_ORPHAN_RATE": "0.2",
               "RCL_IDENTITY_MAX_ACCOUNTS_PER_EMAIL": "1", "RCL_PRICES_INCLUDE_TAX": "false"}
    before = dict(os.environ)
    settings = Settings.from_env(environ)
    assert dict(os.environ) == before and not (tmp_path / "data").exists()
    assert (settings.pii_salt, settings.max_orphan_rate, settings.identity_max_accounts_per_email,
            settings.prices_include_tax) == ("s3cret", 0.2, 1, False)
    assert Settings.from_env(settings.env()) == settings
    defaults = Settings.from_env({"RCL_DATA_DIR": str(tmp_path / "data")})
    # no built-in salt: unset, it is resolved (the data dir's own) where a run needs it
    assert (defaults.pii_salt, defaults.max_orphan_rate, defaults.max_quarantine_rate) == (None, 0.05, 0.05)
    assert Settings.from_env(defaults.env()) == defaults


def test_dbt_reads_every_setting_from_the_environment_with_no_default_of_its_own():
    """The defaults live in Settings only; every variable dbt reads is one settings.env() gives."""
    names = set()
    for path in (DBT_PROJECT_DIR / "profiles.yml", DBT_PROJECT_DIR / "dbt_project.yml"):
        text = path.read_text()
        assert not re.search(r"env_var\([^)]*,", text), f"{path.name} has an env_var() default"
        names |= set(re.findall(r"env_var\('([A-Z_]+)'\)", text))
    assert names and names <= set(Settings.from_env({}).env())


def test_the_dbt_resource_passes_the_settings_to_dbt_without_touching_this_environment(tmp_path):
    """A real dbt process started through the launcher: it sees the variables (it parses the
    project, which needs every one), the private file holding them is gone, os.environ is as it was."""
    from dagster_dbt import DbtCliResource

    from dagster_project.defs.project import dbt_cli

    # the private members ProjectDbtCliResource replaces still exist in dagster-dbt
    assert hasattr(DbtCliResource, "_cli_version") and hasattr(DbtCliResource, "_initialize_dbt_core_adapter")
    settings = Settings.for_data_dir(tmp_path / "data", pii_salt="salt-from-settings")
    before = dict(os.environ)
    invocation = dbt_cli().cli(["parse", "--quiet"], env=settings.env(), target_path=tmp_path / "target",
                               raise_on_error=False)
    invocation.wait()
    assert invocation.is_successful(), invocation.get_error()
    assert dict(os.environ) == before
    # the variables' file named on the launcher's command line is gone (other tests may have theirs)
    (env_file,) = [Path(a) for a in invocation.process.args if Path(a).name.startswith("rcl-dbt-env-")]
    assert not env_file.exists()
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    assert manifest["metadata"]["adapter_type"] == "duckdb"


def test_the_settings_resource_takes_set_variables_through_envvar_and_defaults_otherwise(monkeypatch, tmp_path):
    for name in ENV_VARIABLES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RCL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RCL_MAX_ORPHAN_RATE", "0.3")
    assert set(RclSettings.model_fields) == set(ENV_VARIABLES)  # one field per variable
    resource = RclSettings.from_environment()
    assert set(resource.model_dump(exclude_none=True)) == {"data_dir", "max_orphan_rate"}
    seen = {}

    @dg.asset
    def reads_settings(rcl_settings: RclSettings) -> None:
        seen["settings"] = rcl_settings.settings

    assert dg.materialize([reads_settings], resources={"rcl_settings": resource}).success
    assert seen["settings"] == Settings.from_env() and seen["settings"].max_orphan_rate == 0.3
    assert seen["settings"].pii_salt == Settings.pii_salt  # unset: the default
    explicit = Settings.for_data_dir(tmp_path / "other", pii_salt="x")
    assert RclSettings.from_settings(explicit).settings == explicit


def test_the_partition_range_tags_are_dagsters():
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from dagster_project.pipeline import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG

    assert (PARTITION_RANGE_START_TAG, PARTITION_RANGE_END_TAG) == (
        ASSET_PARTITION_RANGE_START_TAG, ASSET_PARTITION_RANGE_END_TAG)


def test_rcl_env_and_rcl_dbt_give_dbt_by_hand_the_pipelines_settings(tmp_path):
    """`eval "$(rcl env)"` reproduces the settings in a shell; `rcl dbt` runs dbt with them."""
    rcl = Path(sys.executable).with_name("rcl")
    data_dir = tmp_path / "data"
    env = {**os.environ, "RCL_PII_SALT": "by-hand-salt", "PYTHONPATH": str(REPO_ROOT)}
    shell = subprocess.run(
        ["bash", "-c", f'eval "$("{rcl}" env --data-dir "{data_dir}")" && env -0'],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert shell.returncode == 0, shell.stderr
    exported = dict(item.split("=", 1) for item in shell.stdout.split("\0") if "=" in item)
    expected = Settings.from_env({**env, "RCL_DATA_DIR": str(data_dir)})
    assert Settings.from_env(exported) == expected and expected.pii_salt == "by-hand-salt"

    dbt = subprocess.run([str(rcl), "dbt", "--data-dir", str(data_dir), "--", "compile", "--quiet",
                          "--select", "stg_crm__customers", "--target-path", str(tmp_path / "target")],
                         env=env, capture_output=True, text=True, timeout=600)
    assert dbt.returncode == 0, dbt.stdout[-2000:] + dbt.stderr[-2000:]
    (compiled,) = (tmp_path / "target" / "compiled").rglob("stg_crm__customers.sql")
    assert "by-hand-salt" in compiled.read_text()  # the hashes are salted with the settings' salt
    # without the variables, dbt stops with a message naming the missing one
    bare = {k: v for k, v in os.environ.items() if not k.startswith("RCL_")}
    plain = subprocess.run([str(Path(sys.executable).with_name("dbt")), "parse", "--quiet", "--target-path",
                            str(tmp_path / "bare_target"), "--profiles-dir", str(DBT_PROJECT_DIR)],
                           cwd=DBT_PROJECT_DIR, env=bare, capture_output=True, text=True, timeout=600)
    assert plain.returncode != 0 and "RCL_" in plain.stdout + plain.stderr
