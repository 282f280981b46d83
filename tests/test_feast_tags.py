"""Feast view tags are derived from the dbt manifest, not typed twice: in the registry of a real
build, every view over a feature table carries the dbt model that writes its Parquet file, that
model's source systems and upstream models, and its owner (`meta.owner` in dbt), exactly as the
manifest says (walked here independently of the code under test)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from dagster_project.defs.project import dbt_project
from dagster_project.feast_ext.repo import apply_feature_repo, get_feature_store
from dagster_project.settings import Settings


def _manifest() -> dict:
    return json.loads(Path(dbt_project.manifest_path).read_text())


def _expected_tags(manifest: dict, parquet_name: str) -> dict | None:
    """The manifest's answer for the model exporting `parquet_name` (walking depends_on up to the
    sources); None for a file no dbt model exports."""
    exporters = [uid for uid, n in manifest["nodes"].items()
                 if n["resource_type"] == "model" and n["config"].get("materialized") == "external"
                 and Path(n["config"].get("location") or f"{n['name']}.parquet").name == parquet_name]
    if not exporters:
        return None
    [model_id] = exporters
    models, systems, todo, seen = set(), set(), [model_id], set()
    while todo:
        node = manifest["nodes"][todo.pop()]
        for parent in node["depends_on"]["nodes"]:
            if parent in manifest["sources"]:
                systems.add(manifest["sources"][parent]["source_name"])
            elif parent in manifest["nodes"] and parent not in seen:
                seen.add(parent)
                todo.append(parent)
                if manifest["nodes"][parent]["resource_type"] == "model":
                    models.add(manifest["nodes"][parent]["name"])
    node = manifest["nodes"][model_id]
    return {"dbt_model": node["name"], "source_systems": ",".join(sorted(systems)),
            "upstream_models": ",".join(sorted(models)), "owner": node["config"]["meta"]["owner"]}


def test_registry_view_tags_equal_the_dbt_manifest(pipeline_settings):
    manifest = _manifest()
    views = get_feature_store(pipeline_settings).list_feature_views()
    checked = {}
    for view in views:
        name = Path(view.batch_source.path).name
        expected = _expected_tags(manifest, name)
        if expected is None:
            continue
        assert {k: view.tags.get(k) for k in expected} == expected, view.name
        checked[view.name] = view.tags
    assert {"customer_features", "product_features", "cart_features"} <= set(checked)
    # what the manifest says, as facts of the business
    assert checked["product_features"]["dbt_model"] == "product_features"
    assert {"pim", "oms", "wms"} <= set(checked["product_features"]["source_systems"].split(","))
    assert "int_product_activity_daily" in checked["product_features"]["upstream_models"].split(",")
    assert checked["customer_features"]["owner"] == "customer-data"
    assert checked["cart_features"]["dbt_model"] == "cart_features"


def test_apply_tags_from_the_manifest_and_a_model_owner_overrides_the_folders(tmp_path, monkeypatch):
    """A model's own meta.owner wins over the folder default, and a tag typed in the repo that
    disagrees with the manifest is replaced by the manifest's value."""
    import feature_repo.feature_views as views_module
    from dagster_project.feast_ext import repo

    manifest = _manifest()
    [customer_model] = [n for n in manifest["nodes"].values() if n["name"] == "customer_features"]
    customer_model["config"]["meta"]["owner"] = "crm-analytics"
    monkeypatch.setattr(repo, "dbt_manifest", lambda settings: manifest)
    monkeypatch.setattr(views_module.product_features, "tags", {"dbt_model": "typed_by_hand", "team": "kept"})

    settings = Settings.for_data_dir(tmp_path / "data", online_store="sqlite", feast_project=f"tags_{uuid.uuid4().hex[:8]}")
    apply_feature_repo(settings)
    registered = {v.name: v.tags for v in get_feature_store(settings).list_feature_views()}
    assert registered["customer_features"]["owner"] == "crm-analytics"
    assert registered["product_features"]["dbt_model"] == "product_features"
    assert registered["product_features"]["team"] == "kept"
    assert registered["product_features"]["owner"] == "customer-data"
    sources = {s.name: s.tags for s in get_feature_store(settings).list_data_sources()}
    assert sources["product_features_source"]["dbt_model"] == "product_features"


def test_the_feature_repo_types_no_lineage_tag_the_manifest_derives():
    """Views and file sources over a feature table, and on-demand views over those, carry no
    hand-typed dbt_model, source_systems, upstream_models or owner (views over a table): those
    come from the manifest at apply time, so they cannot drift from it."""
    from feast import FeatureView, FileSource, OnDemandFeatureView

    from dagster_project.feast_ext.repo import LINEAGE_TAGS, feature_repo_modules

    typed = []
    for module in feature_repo_modules():
        for obj in vars(module).values():
            source = obj.batch_source if isinstance(obj, FeatureView) else obj
            if isinstance(source, FileSource):
                typed += [(obj.name, key) for key in LINEAGE_TAGS if key in obj.tags]
            elif isinstance(obj, OnDemandFeatureView):
                typed += [(obj.name, key) for key in LINEAGE_TAGS if key in obj.tags and key != "owner"]
    assert not typed, f"lineage tags typed by hand in feature_repo/ (derive them from dbt): {sorted(set(typed))}"


def test_on_demand_views_take_their_source_views_lineage(monkeypatch, tmp_path):
    from feast import OnDemandFeatureView

    from dagster_project.feast_ext import repo

    monkeypatch.setattr(repo, "dbt_manifest", lambda settings: _manifest())
    objects = {o.name: o for o in repo.feature_repo_objects(Settings.for_data_dir(tmp_path / "data"))}
    odfv = objects["candidate_price_vs_price_band"]
    assert isinstance(odfv, OnDemandFeatureView)
    assert odfv.tags["dbt_model"] == "customer_profile_features,product_features"
    assert "wms" in odfv.tags["source_systems"].split(",")  # through product_features' stock
    assert odfv.tags["owner"] == "personalization"  # typed: the transformation's own team
    # views over a table carry their model's owner from dbt meta.owner
    assert objects["stock_by_location"].tags["owner"] == "availability"
    assert objects["order_status"].tags["owner"] == "customer-service"
