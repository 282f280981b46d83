"""Feast as assets: the applied feature repo (registry) and one online-store asset per feature view."""


import dagster as dg

from dagster_project.defs.assets.dbt import feature_model_key
from dagster_project.feature_store import (
    FEATURE_VIEWS,
    OnlineStoreUnavailable,
    apply_feature_repo,
    get_feature_store,
    materialize_view,
)
from dagster_project.settings import Settings

FEAST_REGISTRY_KEY = dg.AssetKey(["feast", "registry"])


def online_asset_key(view_name: str) -> dg.AssetKey:
    return dg.AssetKey(["online_store", view_name])


def build_feast_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=FEAST_REGISTRY_KEY,
        group_name="feast",
        kinds={"feast"},
        # No data dependency: the definitions carry their schemas, so a failed gate on one
        # feature table does not block publishing the others.
        description="`feast apply` of feature_repo/: entities, sources, feature views and services in the registry.",
    )
    def feast_registry(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        output = apply_feature_repo(settings)
        context.log.info(output)
        store = get_feature_store(settings)
        return dg.MaterializeResult(
            metadata={
                "project": settings.feast_project,
                "online_store": settings.online_store,
                "feature_views": dg.MetadataValue.json(sorted(fv.name for fv in store.list_feature_views())),
                "feature_services": dg.MetadataValue.json(sorted(fs.name for fs in store.list_feature_services())),
                "apply_output": dg.MetadataValue.md(f"```\n{output.strip()}\n```"),
            }
        )

    def build_online_asset(view_name: str) -> dg.AssetsDefinition:
        @dg.asset(
            key=online_asset_key(view_name),
            group_name="feast",
            kinds={"feast", settings.online_store},
            deps=[feature_model_key(view_name), FEAST_REGISTRY_KEY],
            description=(
                f"Latest {view_name} per entity in the online store ({settings.online_store}), published as one "
                "transaction: readers see all of the previous publish or all of the new one."
            ),
        )
        def _materialize(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
            try:
                window = materialize_view(settings, view_name)
            except OnlineStoreUnavailable as exc:
                # Reported as a failed materialization (the run fails, the UI shows why); nothing
                # of the publish applied: the online store serves the previous publish whole.
                context.log.error(str(exc))
                raise dg.Failure(description=str(exc), metadata={"view": view_name, "online_store": settings.online_store}) from exc
            context.log.info(f"materialized {view_name} {window}")
            return dg.MaterializeResult(
                metadata={
                    "source_rows": window["rows"],
                    "window_start": str(window["start"]),
                    "window_end": str(window["end"]),
                    "online_store": settings.online_store,
                    "attempts": window["attempts"],
                    "entities_published": window["entities"],
                    "entities_removed": window["removed"],
                    "publish_seconds": window["seconds"],
                }
            )

        return _materialize

    return [feast_registry, *(build_online_asset(name) for name in FEATURE_VIEWS)]
