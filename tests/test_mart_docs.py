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
    """The dbt column docs of a feature table and its Feast fields say the same thing."""
    import yaml

    from dagster_project.settings import DBT_PROJECT_DIR, FEATURE_REPO_DIR

    models = yaml.safe_load((DBT_PROJECT_DIR / "models" / "features" / "_features__models.yml").read_text())["models"]
    dbt_docs = {m["name"]: {c["name"]: c.get("description") for c in m["columns"]} for m in models}
    import ast

    tree = ast.parse((FEATURE_REPO_DIR / "feature_views.py").read_text())
    fields = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and getattr(node.value.func, "id", "") == "FeatureView":
            view = node.targets[0].id
            schema = next(k.value for k in node.value.keywords if k.arg == "schema")
            fields[view] = {
                next(k.value.value for k in f.keywords if k.arg == "name"): next(k.value.value for k in f.keywords if k.arg == "description")
                for f in schema.elts
            }
    assert set(fields) == {"customer_features", "product_features", "cart_features"}
    for view, described in fields.items():
        for name, description in described.items():
            assert dbt_docs[view].get(name) == description, f"{view}.{name}"
