"""Every column of every mart and feature table is documented in dbt yml, so `dbt docs
generate` gives analysts a complete catalog."""

from __future__ import annotations

import json

import duckdb
import pytest

from dagster_project.defs.project import dbt_project, ensure_manifest

pytestmark = pytest.mark.slow


def test_every_mart_column_has_a_description(pipeline_settings):
    ensure_manifest()
    manifest = json.loads(dbt_project.manifest_path.read_text())
    documented = {
        (node["schema"], node["name"]): {name for name, col in node["columns"].items() if col.get("description")}
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] in ("marts", "features")
    }
    with duckdb.connect(str(pipeline_settings.warehouse_path), read_only=True) as conn:
        columns = conn.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema in ('marts', 'features')"
        ).fetchall()
    assert columns
    missing = sorted(f"{s}.{t}.{c}" for s, t, c in columns if c not in documented.get((s, t), set()))
    assert missing == [], f"{len(missing)} undocumented columns"


def test_feature_table_docs_match_the_feast_feature_views():
    """The dbt column docs of every feature table and the fields of the Feast view that reads it
    say the same thing (every yml under models/features, every module of feature_repo)."""
    import yaml
    from feast import FeatureView

    from dagster_project.feast_ext.feature_tables import FEATURE_VIEWS
    from dagster_project.feast_ext.repo import feature_repo_modules
    from dagster_project.settings import DBT_PROJECT_DIR

    dbt_docs = {}
    for path in sorted((DBT_PROJECT_DIR / "models" / "features").glob("_*.yml")):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            dbt_docs[model["name"]] = {c["name"]: c.get("description") for c in model.get("columns", [])}
    views = {value.name: value for module in feature_repo_modules() for value in vars(module).values()
             if isinstance(value, FeatureView) and value.batch_source is not None
             and getattr(value.batch_source, "path", None)}
    assert set(FEATURE_VIEWS) <= set(views), "every published feature table has a Feast view"
    for name, view in views.items():
        table = view.batch_source.path.removesuffix(".parquet")
        assert table in dbt_docs, f"feature view {name} reads {table}, which has no dbt yml under models/features"
        for field in view.schema:
            assert field.description, f"{name}.{field.name} has no description"
            assert dbt_docs[table].get(field.name) == field.description, f"{name}.{field.name}"
