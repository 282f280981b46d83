"""The one dbt project of the code location, and the dbt executable of this environment."""

import os
import sys
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.dbt_project import using_dagster_dev

from dagster_project.settings import DBT_PROJECT_DIR

# The dbt installed next to this interpreter, whether or not the environment is activated
# (dagster-dbt's project preparer looks for `dbt` on PATH).
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
_bin = str(Path(sys.executable).parent)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class ProjectDbtCliResource(DbtCliResource):
    """dagster-dbt's resource, knowing the dbt version of this environment without asking.

    dagster-dbt runs `dbt --version` (a whole dbt process start, ~2 s) once per step that calls
    dbt, to tell dbt-core from the Fusion engine. Our executable is dbt-core's script next to
    this interpreter, so its version is the installed dbt-core package's; any other executable
    is still asked."""

    @cached_property
    def _cli_version(self):
        if Path(self.dbt_executable) == Path(DBT_EXECUTABLE):
            from importlib.metadata import version as installed_version

            from packaging import version

            return version.parse(installed_version("dbt-core"))
        return super()._cli_version


def dbt_cli() -> DbtCliResource:
    return ProjectDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


def ensure_manifest(refresh: bool = False) -> None:
    """Parse the dbt project when asked, when its manifest is missing (fresh clone) or under
    `dagster dev` (so model edits show up on reload). dagster-dbt guards concurrent parses."""
    if refresh or using_dagster_dev() or not dbt_project.manifest_path.exists():
        dbt_project.preparer.prepare(dbt_project)
