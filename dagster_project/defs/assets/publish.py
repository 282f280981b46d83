"""The analysts' warehouse: a consistent copy of the last complete build, swapped atomically."""

import dagster as dg

from dagster_project.defs.domains import SERVING
from dagster_project.defs.resources import RclSettings
from dagster_project.publish import publish_warehouse
from dagster_project.settings import Settings

PUBLISHED_WAREHOUSE_KEY = dg.AssetKey(["warehouse", "published"])


def build_publish_asset(settings: Settings, upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=PUBLISHED_WAREHOUSE_KEY,
        group_name=SERVING,
        kinds={"duckdb"},
        deps=upstream,
        description=(
            "Checkpoint the working warehouse, copy it to published/ and swap the analysts' link "
            f"({settings.published_warehouse.name}) to it in one rename. Analysts open that path "
            "read-only at any time, also while a run is writing."
        ),
    )
    def published_warehouse(context: dg.AssetExecutionContext, rcl_settings: RclSettings) -> dg.MaterializeResult:
        publication = publish_warehouse(rcl_settings.settings)
        context.log.info(f"published {publication.path} as {publication.link}")
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(publication.link)),
                "build": publication.path.name,
                "size_mib": round(publication.bytes / 2**20, 1),
                "previous_builds_removed": len(publication.removed),
            }
        )

    return published_warehouse
