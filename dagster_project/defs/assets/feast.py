"""Feast as assets: the applied feature repo (registry) and one online-store asset per feature view.
The steps that touch the online store are retried by a Dagster RetryPolicy with exponential backoff."""

import dagster as dg

from dagster_project.defs.assets.dbt import feature_model_key
from dagster_project.defs.domains import SERVING
from dagster_project.feast_ext.feature_tables import FEATURE_VIEWS
from dagster_project.feast_ext.publish import (
    MATERIALIZE_ATTEMPTS,
    MATERIALIZE_FIRST_DELAY,
    OnlineStoreUnavailable,
    materialize_view,
)
from dagster_project.feast_ext.repo import apply_feature_repo, get_feature_store
from dagster_project.settings import Settings

FEAST_REGISTRY_KEY = dg.AssetKey(["feast", "registry"])
# An unreachable online store (Redis down, a restart) is retried by Dagster, not inside the step:
# the run keeps executing other steps while one waits. RCL_ONLINE_STORE_ATTEMPTS attempts in all,
# retries after 1, 3, 7 ... times RCL_ONLINE_STORE_RETRY_DELAY seconds (Backoff.EXPONENTIAL).
ONLINE_STORE_RETRY = dg.RetryPolicy(
    max_retries=MATERIALIZE_ATTEMPTS - 1, delay=MATERIALIZE_FIRST_DELAY, backoff=dg.Backoff.EXPONENTIAL
)


def online_asset_key(view_name: str) -> dg.AssetKey:
    return dg.AssetKey(["online_store", view_name])


def build_feast_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=FEAST_REGISTRY_KEY,
        group_name=SERVING,
        kinds={"feast"},
        # No data dependency: the definitions carry their schemas, so a failed gate on one
        # feature table does not block publishing the others.
        description="`feast apply` of feature_repo/: entities, sources, feature views and services in the registry.",
        retry_policy=ONLINE_STORE_RETRY,  # applying creates or removes the views' online tables
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
            group_name=SERVING,
            kinds={"feast", settings.online_store},
            deps=[feature_model_key(view_name), FEAST_REGISTRY_KEY],
            retry_policy=ONLINE_STORE_RETRY,
            description=(
                f"Latest {view_name} per entity in the online store ({settings.online_store}), published as one "
                "transaction: readers see all of the previous publish or all of the new one."
            ),
        )
        def _materialize(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
            attempt, attempts = context.retry_number + 1, ONLINE_STORE_RETRY.max_retries + 1
            try:
                window = materialize_view(settings, view_name, attempts=1)  # the step's RetryPolicy retries
            except OnlineStoreUnavailable as exc:
                # Nothing of the publish applied: the online store serves the previous publish whole.
                # The last attempt fails the step with the reason (the run summary shows it).
                message = exc.describe(f"at step attempt {attempt} of {attempts}")
                context.log.error(message)
                raise dg.Failure(description=message, metadata={"view": view_name, "online_store": settings.online_store},
                                 allow_retries=attempt < attempts) from exc
            context.log.info(f"materialized {view_name} {window}")
            return dg.MaterializeResult(
                metadata={
                    "source_rows": window["rows"],
                    "window_start": str(window["start"]),
                    "window_end": str(window["end"]),
                    "online_store": settings.online_store,
                    "attempts": attempt,
                    "entities_published": window["entities"],
                    "entities_removed": window["removed"],
                    "publish_seconds": window["seconds"],
                }
            )

        return _materialize

    return [feast_registry, *(build_online_asset(name) for name in FEATURE_VIEWS)]
