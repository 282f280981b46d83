"""The dbt project as Dagster assets: one @dbt_assets over the manifest, sources mapped onto the
ingestion assets so the lineage graph is one connected picture, dbt tests as asset checks."""

from __future__ import annotations

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
        yield from dbt.cli(["build"], context=context).stream().fetch_row_counts()

    return dbt_models


def feature_model_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([name])
