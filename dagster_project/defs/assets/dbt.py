"""The dbt project as Dagster assets, sources mapped onto the ingestion assets so the lineage graph
is one connected picture, dbt tests as asset checks.

Two @dbt_assets over the one manifest: the models tagged `daily` (the incremental event models
and the views they read) share the ingestion assets' daily partitions; every other model is
unpartitioned and rebuilt from them on each run (identity resolution and the customer marts
look at all of history). A partition's run passes its delivery window to dbt as vars; a run
over every partition is a `--full-refresh` of the incremental models."""

import json


from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from dagster_project.defs.assets.ingestion import raw_asset_key
from dagster_project.defs.partitions import daily_partitions, delivery_window
from dagster_project.defs.project import dbt_project
from dagster_project.settings import Settings


class RetailDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return raw_asset_key(dbt_resource_props["source_name"], dbt_resource_props["name"])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        # models/<layer>/... -> group "<layer>" (staging, intermediate, marts, features)
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


translator = RetailDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_code_references=False))


DAILY_SELECTION = "tag:daily"


def build_dbt_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    partitions = daily_partitions(settings)

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        dagster_dbt_translator=translator,
        name="dbt_daily_models",
        select=DAILY_SELECTION,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def dbt_daily_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        window = delivery_window(context, partitions, settings)
        args = ["build", "--full-refresh"] if window.full else ["build", "--vars", json.dumps(window.dbt_vars)]
        # Tests that also read an unpartitioned model (relationships) run with that model's build.
        args += ["--indirect-selection", "cautious"]
        context.log.info(f"incremental models over {window.describe()}")
        yield from _run_dbt(context, dbt, args, settings)

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        dagster_dbt_translator=translator,
        name="dbt_models",
        exclude=DAILY_SELECTION,
    )
    def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        yield from _run_dbt(context, dbt, ["build"], settings)

    return [dbt_daily_models, dbt_models]


def _run_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource, args: list[str], settings: Settings):
    settings.export_env()  # the dbt profile reads the same variables
    settings.features_dir.mkdir(parents=True, exist_ok=True)  # dbt-duckdb does not create it
    invocation = dbt.cli(args, context=context)
    # Row counts are read once dbt has exited: while it runs, the dbt process is the
    # warehouse's one writer and no other connection may open the file.
    events, failure = [], None
    try:
        events.extend(invocation.stream())
    except Exception as exc:  # report what did build, then fail the step
        failure = exc
    yield from with_row_counts(events, invocation.manifest, settings)
    if failure is not None:
        raise failure


def with_row_counts(events: list, manifest: Mapping[str, Any], settings: Settings):
    import duckdb

    conn = None
    if settings.warehouse_path.exists():
        # bounded like every other connection of the pipeline
        conn = duckdb.connect(str(settings.warehouse_path), read_only=True,
                              config={"memory_limit": settings.duckdb_memory_limit})
    try:
        for event in events:
            if isinstance(event, dg.Output) and conn is not None and "unique_id" in event.metadata:
                node = manifest["nodes"].get(event.metadata["unique_id"].value, {})
                # tables only: counting a view runs its whole query (a staging view deduplicating
                # a year of snapshots), in this process
                if node.get("relation_name") and node.get("config", {}).get("materialized") != "view":
                    (rows,) = conn.execute(f"select count(*) from {node['relation_name']}").fetchone()
                    event = event.with_metadata({**event.metadata, "dagster/row_count": rows})
            yield event
    finally:
        if conn is not None:
            conn.close()


def feature_model_key(name: str) -> dg.AssetKey:
    """Key of a dbt model in dbt/models/features (dagster-dbt keys models by schema and name)."""
    return dg.AssetKey(["features", name])
