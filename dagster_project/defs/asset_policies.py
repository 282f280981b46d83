"""Who owns each asset, what it is made of, how fresh it must be and when it refreshes on its own:
owners, kinds, freshness policies and automation conditions, by layer (the first part of an
asset's key; the UI's groups are domains, defs/domains.py), in one place.
Why these windows and conditions: docs/operations.md and docs/adr/operating-in-the-dagster-ui.md."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from dagster_project.settings import Settings

DATA_PLATFORM = "team:data-platform"
ML_PLATFORM = "team:ml-platform"
# The layer of an asset: its key's first part, named as below where the key says it otherwise.
LAYER_BY_KEY_PREFIX = {"raw": "ingestion", "online_store": "feast", "warehouse": "publish"}


def layer(key: dg.AssetKey) -> str:
    """ingestion, staging, intermediate, marts, audit, features, feast or publish."""
    return LAYER_BY_KEY_PREFIX.get(key.path[0], key.path[0])


# The team answering for each layer (the UI's owner filter, and who an alert is for).
OWNERS_BY_LAYER = {
    "ingestion": DATA_PLATFORM,
    "staging": DATA_PLATFORM,
    "intermediate": DATA_PLATFORM,
    "marts": DATA_PLATFORM,
    "audit": DATA_PLATFORM,
    "publish": DATA_PLATFORM,
    "features": ML_PLATFORM,
    "feast": ML_PLATFORM,
}
# Kinds added to what an asset already declares (dagster-dbt gives its models dbt and duckdb):
# raw tables and feature tables are validated by Great Expectations suites, feature tables are
# Parquet files (what Feast's offline store reads).
KINDS_BY_LAYER = {
    "ingestion": {"duckdb", "great_expectations"},
    "features": {"parquet", "great_expectations"},
    "publish": {"duckdb"},
}
# Layers that refresh on their own once something upstream changed (when the automation sensor
# is on): every dbt layer, so that a mart never reads an intermediate model older than its
# sources, the published warehouse, and the online views (only after their feature table's
# blocking gates passed: a failed gate keeps the last good online values).
EAGER_LAYERS = {"staging", "intermediate", "marts", "audit", "features", "publish"}
GATED_EAGER_LAYERS = {"feast"}
# The Feast registry changes with the feature repo's code, not with data: applied by a run of
# the pipeline, never by automation.
NOT_AUTOMATED = {dg.AssetKey(["feast", "registry"])}


def freshness_windows(settings: Settings) -> dict[str, dg.FreshnessPolicy]:
    """layer -> the freshness policy of its assets; layers without one are intermediate steps
    that nobody reads directly (staging, intermediate, audit, the Feast registry)."""
    def window(hours: float) -> dg.FreshnessPolicy:
        return dg.FreshnessPolicy.time_window(
            warn_window=timedelta(hours=hours),
            fail_window=timedelta(hours=hours + settings.freshness_fail_after_hours),
        )

    return {
        "ingestion": window(settings.freshness_raw_hours),
        "marts": window(settings.freshness_marts_hours),
        "publish": window(settings.freshness_marts_hours),
        "features": window(settings.freshness_features_hours),
        "feast": window(settings.freshness_online_hours),
    }


def automation_condition(key: dg.AssetKey) -> dg.AutomationCondition | None:
    if key in NOT_AUTOMATED:
        return None
    if layer(key) in EAGER_LAYERS:
        return dg.AutomationCondition.eager()
    if layer(key) in GATED_EAGER_LAYERS:
        return (dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()).with_label(
            "eager once blocking checks passed")
    return None


def with_operational_policies(assets: list[dg.AssetsDefinition], settings: Settings) -> list[dg.AssetsDefinition]:
    """The assets with owners, kinds, freshness policy and automation condition of their layer."""
    freshness = freshness_windows(settings)

    def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        of = layer(spec.key)
        return spec.replace_attributes(
            owners=sorted({*spec.owners, OWNERS_BY_LAYER.get(of, DATA_PLATFORM)}),
            kinds={*spec.kinds, *KINDS_BY_LAYER.get(of, set())},
            freshness_policy=None if spec.key in NOT_AUTOMATED else freshness.get(of, spec.freshness_policy),
            automation_condition=automation_condition(spec.key) or spec.automation_condition,
        )

    return [asset.map_asset_specs(apply) for asset in assets]
