"""The dbt project as Dagster assets: one @dbt_assets over the manifest, sources mapped onto the
ingestion assets so the lineage graph is one connected picture, dbt tests as asset checks."""


from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from dagster_project.defs.assets.ingestion import raw_asset_key
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


def build_dbt_assets(settings: Settings) -> dg.AssetsDefinition:
    @dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=translator, name="dbt_models")
    def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        settings.export_env()  # the dbt profile reads the same variables
        settings.features_dir.mkdir(parents=True, exist_ok=True)  # dbt-duckdb does not create it
        invocation = dbt.cli(["build"], context=context)
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

    return dbt_models


def with_row_counts(events: list, manifest: Mapping[str, Any], settings: Settings):
    import duckdb

    conn = duckdb.connect(str(settings.warehouse_path), read_only=True) if settings.warehouse_path.exists() else None
    try:
        for event in events:
            if isinstance(event, dg.Output) and conn is not None and "unique_id" in event.metadata:
                node = manifest["nodes"].get(event.metadata["unique_id"].value, {})
                if node.get("relation_name"):
                    (rows,) = conn.execute(f"select count(*) from {node['relation_name']}").fetchone()
                    event = event.with_metadata({**event.metadata, "dagster/row_count": rows})
            yield event
    finally:
        if conn is not None:
            conn.close()


def feature_model_key(name: str) -> dg.AssetKey:
    """Key of a dbt model in dbt/models/features (dagster-dbt keys models by schema and name)."""
    return dg.AssetKey(["features", name])
