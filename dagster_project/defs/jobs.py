"""Jobs: the whole pipeline, landing files to online store."""

import dagster as dg

full_pipeline = dg.define_asset_job(
    name="full_pipeline",
    selection=dg.AssetSelection.all(),
    description="Ingest every source, build and test the dbt models, validate features, publish to Feast.",
)


def build_jobs() -> list:
    return [full_pipeline]
