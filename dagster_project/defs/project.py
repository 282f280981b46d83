"""The one dbt project of the code location, and the dbt executable of this environment, started
with the settings' variables (docs/adr/configuration-as-resources.md)."""

from __future__ import annotations

import atexit
import dataclasses
import fcntl
import json
import os
import secrets
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.dbt_project import using_dagster_dev

from dagster_project.defs.dbt_launcher import READY
from dagster_project.settings import DBT_PROJECT_DIR, Settings

# The dbt installed next to this interpreter, whether or not the environment is activated.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
# Run by file path (no package import): starts dbt with the settings' variables, from a warm dbt
# server when one runs.
DBT_LAUNCHER = str(Path(__file__).with_name("dbt_launcher.py"))

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class ProjectDbtCliResource(DbtCliResource):
    """dagster-dbt's resource for this environment's dbt. `cli(args, env=settings.env())`
    starts dbt through dbt_launcher.py with those variables (dagster-dbt 0.29 takes no env), and
    two private members are replaced: `_cli_version` (no `dbt --version` process per step) and
    `_initialize_dbt_core_adapter` (only serves column metadata, not fetched here). Why:
    docs/adr/configuration-as-resources.md; tests/test_settings.py fails if they disappear."""

    # Start each command from a warm dbt (dbt_launcher.py serve) instead of a fresh interpreter
    # that imports dbt again: about 3 s less per command. Only for this environment's dbt.
    warm_start: bool = True

    def cli(self, args: Sequence[str], *, env: Mapping[str, str] | None = None, **kwargs):
        if not env:
            return super().cli(args, **kwargs)
        fd, env_file = tempfile.mkstemp(prefix="rcl-dbt-env-", suffix=".json")  # readable by this user only
        with os.fdopen(fd, "w") as f:
            json.dump(dict(env), f)
        server = WarmDbt.socket() if self.warm_start and Path(self.dbt_executable) == Path(DBT_EXECUTABLE) else None
        if server is not None:
            flags = ["-I", DBT_LAUNCHER, "run", server, env_file, *self.global_config_flags]
        else:
            flags = ["-I", DBT_LAUNCHER, "exec", env_file, self.dbt_executable, *self.global_config_flags]
        launcher = ProjectDbtCliResource(
            project_dir=self.project_dir, profiles_dir=self.profiles_dir, profile=self.profile,
            target=self.target, state_path=self.state_path, dbt_executable=sys.executable,
            global_config_flags=flags,
        )
        try:
            return launcher.cli(args, **kwargs)
        except BaseException:
            Path(env_file).unlink(missing_ok=True)  # the launcher removes it once dbt starts
            raise

    @cached_property
    def _cli_version(self):
        if Path(self.dbt_executable) == Path(DBT_EXECUTABLE) or DBT_LAUNCHER in self.global_config_flags[:2]:
            from importlib.metadata import version as installed_version

            from packaging import version

            return version.parse(installed_version("dbt-core"))
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Sequence[str]):
        return None


class WarmDbt:
    """The warm dbt server of this process (dbt_launcher.py serve): started on the first command,
    ended with the process (the server also ends on its own when this process is gone). When it
    cannot start, commands start dbt the ordinary way (a warning says why)."""

    _lock = threading.Lock()
    _process: subprocess.Popen | None = None
    _folder: str | None = None
    _owner: int | None = None
    _failed = False
    READY_TIMEOUT_SECONDS = 120

    @classmethod
    def socket(cls) -> str | None:
        """The server's socket path, starting the server when this process has none running."""
        with cls._lock:
            running = cls._process is not None and cls._owner == os.getpid() and cls._process.poll() is None
            if not running and not cls._failed:
                cls._start()
            return str(Path(cls._folder) / "dbt.sock") if cls._process is not None else None

    @classmethod
    def _start(cls) -> None:
        if not hasattr(os, "fork") or not hasattr(socket, "send_fds"):
            cls._failed = True
            return
        folder = tempfile.mkdtemp(prefix="rcl-dbt-")  # mode 0700: only this user reaches the socket
        warm_up = Path(dbt_project.project_dir) / dbt_project.target_path / PARTIAL_PARSE
        process = subprocess.Popen([sys.executable, "-u", DBT_LAUNCHER, "serve", str(Path(folder) / "dbt.sock"), str(warm_up)],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, close_fds=True)
        ready, _, _ = select.select([process.stdout], [], [], cls.READY_TIMEOUT_SECONDS)
        if not ready or process.stdout.readline() != READY:
            process.kill()
            process.wait()
            shutil.rmtree(folder, ignore_errors=True)
            cls._failed = True
            warnings.warn("the warm dbt server did not start (its error is above); dbt commands start the "
                          "ordinary way", stacklevel=3)
            return
        if cls._owner is None:
            atexit.register(cls.stop)
        cls._process, cls._folder, cls._owner = process, folder, os.getpid()

    @classmethod
    def stop(cls) -> None:
        with cls._lock:
            if cls._process is not None and cls._owner == os.getpid():
                cls._process.terminate()
                try:
                    cls._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    cls._process.kill()
                shutil.rmtree(cls._folder, ignore_errors=True)
            cls._process = cls._folder = cls._owner = None


def dbt_cli(warm_start: bool = True) -> ProjectDbtCliResource:
    return ProjectDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE, warm_start=warm_start)


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
        # an ordinary dbt process: a code server parses once and would keep a warm server for nothing
        dbt_cli(warm_start=False).cli(["parse", "--quiet"], env=settings.env(), target_path=target).wait()


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
