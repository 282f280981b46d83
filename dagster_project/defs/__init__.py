"""Builds the code location's Definitions from the deployment's settings."""

from __future__ import annotations

import dagster as dg

from dagster_project.settings import Settings


def build_defs(settings: Settings | None = None) -> dg.Definitions:
    """The Definitions for `settings` (tests, benchmarks, `rcl run`), or, without them, for the
    environment's RCL_* variables, which then reach the runs through dg.EnvVar."""
    from dagster_project.defs.asset_policies import with_operational_policies
    from dagster_project.defs.assets.dbt import build_dbt_assets
    from dagster_project.defs.assets.feast import build_feast_assets
    from dagster_project.defs.assets.ingestion import build_ingestion_assets
    from dagster_project.defs.assets.publish import build_publish_asset
    from dagster_project.defs.checks.consistency import build_consistency_checks
    from dagster_project.defs.checks.delivery import build_delivery_checks
    from dagster_project.defs.checks.features import build_feature_checks
    from dagster_project.defs.checks.orphans import build_orphan_checks
    from dagster_project.defs.jobs import build_jobs, build_schedules
    from dagster_project.defs.partitions import daily_partitions
    from dagster_project.defs.privacy import forget_person_job
    from dagster_project.defs.project import ensure_manifest
    from dagster_project.defs.resources import RclSettings, build_resources
    from dagster_project.defs.sensors import build_sensors

    rcl_settings = RclSettings.from_environment() if settings is None else RclSettings.from_settings(settings)
    settings = rcl_settings.settings  # what the definitions are shaped by (partitions, descriptions)
    ensure_manifest(settings)
    dbt_models = build_dbt_assets(settings)
    # Analysts get every model that built; a failed gate on a feature table (blocking check)
    # must not hold back the marts, so publishing does not wait for the feature tables.
    published_models = newest_models(dbt_models, exclude_layers=("features",))
    # owners, kinds, freshness and automation of every asset: defs/asset_policies.py
    assets = with_operational_policies([
        *build_ingestion_assets(settings),
        *dbt_models,
        *build_feast_assets(settings),
        build_publish_asset(settings, published_models),
    ], settings)
    partitioned = [a for a in assets if a.partitions_def is not None]  # ingestion and the daily models
    return dg.Definitions(
        assets=assets,
        asset_checks=[
            *build_feature_checks(settings),
            *build_delivery_checks(settings),
            *build_orphan_checks(),
            *build_consistency_checks(settings),
        ],
        jobs=[*build_jobs(partitioned), forget_person_job],
        schedules=build_schedules(),
        sensors=build_sensors(partitioned, daily_partitions(settings)),
        resources=build_resources(settings, rcl_settings),
        # Every step writes the same DuckDB file (one writer at a time), so steps run one after
        # another in one process; this also saves a process start per step.
        executor=dg.in_process_executor,
    )


def newest_models(dbt_models: list[dg.AssetsDefinition], exclude_layers: tuple[str, ...] = ()) -> list[dg.AssetKey]:
    """The models (outside the layers, first key parts, `exclude_layers`) that no other of them reads:
    waiting for these is waiting for them all, and the graph draws a handful of edges instead of
    one per model."""
    deps = {key: set(parents) for models in dbt_models for key, parents in models.asset_deps.items()
            if key.path[0] not in exclude_layers}
    ancestors: set[dg.AssetKey] = set()
    for key in deps:
        frontier = list(deps[key])
        while frontier:
            parent = frontier.pop()
            if parent in deps and parent not in ancestors:
                ancestors.add(parent)
                frontier.extend(deps[parent])
    return sorted((key for key in deps if key not in ancestors), key=lambda k: k.to_user_string())
