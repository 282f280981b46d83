"""Resources, all configured from dagster_project.settings (environment variables)."""

from dagster_duckdb import DuckDBResource

from dagster_project.defs.project import dbt_cli
from dagster_project.settings import Settings


def build_resources(settings: Settings) -> dict:
    return {
        "warehouse": DuckDBResource(database=str(settings.warehouse_path)),
        "dbt": dbt_cli(),
    }
