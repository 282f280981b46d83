"""Resources, all configured from dagster_project.settings (environment variables)."""

from dagster_duckdb import DuckDBResource

from dagster_project.defs.project import dbt_cli
from dagster_project.settings import Settings


def build_resources(settings: Settings) -> dict:
    return {
        # bounded memory: DuckDB spills to a temp directory next to the file beyond the limit
        "warehouse": DuckDBResource(
            database=str(settings.warehouse_path),
            connection_config={"memory_limit": settings.duckdb_memory_limit},
        ),
        "dbt": dbt_cli(),
    }
