"""Resources, all configured from dagster_project.settings (environment variables)."""

from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource

from dagster_project.defs.project import dbt_project
from dagster_project.settings import Settings


def build_resources(settings: Settings) -> dict:
    return {
        "warehouse": DuckDBResource(database=str(settings.warehouse_path)),
        "dbt": DbtCliResource(project_dir=dbt_project),
    }
