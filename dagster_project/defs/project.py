"""The one dbt project of the code location, and the dbt executable of this environment, started
with the settings' variables (docs/adr/configuration-as-resources.md)."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.dbt_project import using_dagster_dev

from dagster_project.settings import DBT_PROJECT_DIR, Settings

# The dbt installed next to this interpreter, whether or not the environment is activated.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
# Run by file path (no package import): reads the settings' variables and becomes dbt.
DBT_LAUNCHER = str(Path(__file__).with_name("dbt_launcher.py"))

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class ProjectDbtCliResource(DbtCliResource):
    """dagster-dbt's resource for this environment's dbt. `cli(args, env=settings.env())`
    starts dbt through dbt_launcher.py with those variables (dagster-dbt 0.29 takes no env), and
    two private members are replaced: `_cli_version` (no `dbt --version` process per step) and
    `_initialize_dbt_core_adapter` (only serves column metadata, not fetched here). Why:
    docs/adr/configuration-as-resources.md; tests/test_settings.py fails if they disappear."""

    def cli(self, args: Sequence[str], *, env: Mapping[str, str] | None = None, **kwargs):
        if not env:
            return super().cli(args, **kwargs)
        fd, env_file = tempfile.mkstemp(prefix="rcl-dbt-env-", suffix=".json")  # readable by this user only
        with os.fdopen(fd, "w") as f:
            json.dump(dict(env), f)
        launcher = ProjectDbtCliResource(
            project_dir=self.project_dir, profiles_dir=self.profiles_dir, profile=self.profile,
            target=self.target, state_path=self.state_path, dbt_executable=sys.executable,
            global_config_flags=[DBT_LAUNCHER, env_file, self.dbt_executable, *self.global_config_flags],
        )
        try:
            return launcher.cli(args, **kwargs)
        except BaseException:
            Path(env_file).unlink(missing_ok=True)  # the launcher removes it once dbt starts
            raise

    @cached_property
    def _cli_version(self):
        if Path(self.dbt_executable) == Path(DBT_EXECUTABLE) or self.global_config_flags[:1] == [DBT_LAUNCHER]:
            from importlib.metadata import version as installed_version

            from packaging import version

            return version.parse(installed_version("dbt-core"))
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Sequence[str]):
        return None


def dbt_cli() -> ProjectDbtCliResource:
    return ProjectDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


def ensure_manifest(settings: Settings | None = None, refresh: bool = False) -> None:
    """Parse the dbt project when asked, when its manifest is missing (fresh clone) or under
    `dagster dev` (so model edits show up on reload). dbt reads the settings' variables even to
    parse (default: the environment's settings). One parse at a time per checkout, as
    dagster-dbt's own preparer does."""
    if not (refresh or using_dagster_dev() or not dbt_project.manifest_path.exists()):
        return
    from dagster_project.pii_salt import known_pii_salt

    settings = settings or Settings.from_env()
    # parsing hashes nothing: the data dir's salt when it has one (dbt then keeps its partial parse
    # for the build), else none; a build refuses an empty salt (macros/hash_pii.sql)
    settings = dataclasses.replace(settings, pii_salt=known_pii_salt(settings))
    target = Path(dbt_project.project_dir) / dbt_project.target_path  # the project's own target folder
    target.mkdir(parents=True, exist_ok=True)
    manifest = Path(dbt_project.manifest_path)
    started = manifest.stat().st_mtime if manifest.exists() else 0.0
    with open(target / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest.exists() and manifest.stat().st_mtime > started:
            return  # another process parsed the same models while this one waited
        dbt_cli().cli(["parse", "--quiet"], env=settings.env(), target_path=target).wait()


PARTIAL_PARSE = "partial_parse.msgpack"


def partial_parse_cache(settings: Settings) -> Path:
    """dbt's partial-parse state for one warehouse. dbt re-parses the whole project (seconds per
    command) when the profile it saved that state with differs from the current one, and the
    profile holds the warehouse's and the exports' paths: each data dir keeps its own state, so
    the steps of a run parse only what changed, whichever data dir parsed the project last."""
    return settings.warehouse_path.parent / "dbt" / PARTIAL_PARSE


def step_target_path(step: str, run_id: str) -> Path:
    """A dbt command's own target folder in the project's (as dagster-dbt names them)."""
    return Path(dbt_project.project_dir) / dbt_project.target_path / f"{step}-{run_id[:7]}-{secrets.token_hex(3)}"


def seed_partial_parse(settings: Settings, target: Path) -> None:
    """Start a dbt command in `target` from the data dir's partial-parse state (when it has one;
    otherwise dagster-dbt copies the project's). dbt itself checks the state against the files
    and the profile, and re-parses what differs."""
    cache = partial_parse_cache(settings)
    if cache.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cache, target / PARTIAL_PARSE)


def keep_partial_parse(settings: Settings, target: Path) -> None:
    """Keep the state dbt saved in `target` for the data dir's next command (replaced atomically:
    parallel steps may finish together)."""
    saved = target / PARTIAL_PARSE
    if not saved.exists():
        return
    cache = partial_parse_cache(settings)
    cache.parent.mkdir(parents=True, exist_ok=True)
    temporary = cache.with_name(f".{cache.name}.{os.getpid()}.{secrets.token_hex(4)}")
    shutil.copyfile(saved, temporary)
    os.replace(temporary, cache)
