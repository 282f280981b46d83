"""Training-set recipes on a real build: each consumer's label rows from the published warehouse,
joined point in time to its feature service, written as Parquet with a manifest (service and
version, features, data snapshot, code version), and the same through `rcl training-set`."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from dagster_project.feast_ext.repo import get_feature_store
from dagster_project.feast_ext.training_recipes import (
    LABEL_QUERIES, build_training_set, label_rows, manifest_path, service_version,
)
from dagster_project.settings import REPO_ROOT
from conftest import duck, use_settings_env

# every consumer's recipe, on its newest service
RECIPES = {"personalization_v2": "personalization", "product_content_v2": "product_content",
           "cart_recovery_v2": "cart_recovery", "availability_v1": "availability",
           "returns_risk_v1": "returns_risk", "content_variants_v1": "content_variants"}
REQUEST_FIELDS = {"personalization_v2": ["request_time"], "cart_recovery_v2": ["request_epoch_seconds"]}


def test_service_names_carry_consumer_and_version():
    assert service_version("personalization_v2") == ("personalization", 2)
    assert service_version("returns_risk_v1") == ("returns_risk", 1)
    assert service_version("adhoc") == ("adhoc", None)


@pytest.mark.parametrize("service", sorted(RECIPES))
def test_a_recipe_builds_the_services_training_set_with_its_manifest(pipeline_settings, tmp_path, service):
    labels = label_rows(pipeline_settings, RECIPES[service])
    assert len(labels) > 0 and "event_timestamp" in labels.columns
    assert str(labels["event_timestamp"].dtype).startswith("datetime64") and labels["event_timestamp"].notna().all()
    out = tmp_path / f"{service}.parquet"
    manifest = build_training_set(pipeline_settings, service, labels, out)

    table = pd.read_parquet(out)
    store = get_feature_store(pipeline_settings)
    svc = store.get_feature_service(service)
    refs = [f"{p.name_to_use()}:{f.name}" for p in svc.feature_view_projections for f in p.features]
    assert len(table) == len(labels) == manifest["rows"]
    assert {r.split(":")[1] for r in refs} <= set(table.columns)
    assert set(labels.columns) <= set(table.columns)  # the label travels with its features

    # request-time features see the label's time as the request's time
    assert manifest["request_fields_from_label_time"] == REQUEST_FIELDS.get(service, [])
    for field in manifest["request_fields_from_label_time"]:
        sent = table[field] if field == "request_time" else pd.to_datetime(table[field], unit="s", utc=True)
        assert (pd.to_datetime(sent, utc=True) == pd.to_datetime(table["event_timestamp"], utc=True)).all(), field
    assert json.loads(manifest_path(out).read_text()) == json.loads(json.dumps(manifest, default=str))
    assert manifest_path(out).name == f"{service}.manifest.json"
    assert (manifest["feature_service"], manifest["consumer"], manifest["version"]) == (
        service, RECIPES[service], service_version(service)[1])
    assert manifest["features"] == refs
    assert manifest["label_time_range"] == [labels["event_timestamp"].min().isoformat(),
                                            labels["event_timestamp"].max().isoformat()]
    views = {v.name: v for v in store.list_feature_views()}
    snapshot = manifest["data_snapshot"]
    assert set(snapshot["feature_tables"]) == {p.name for p in svc.feature_view_projections if p.name in views}
    on_demand = {v.name for v in store.list_on_demand_feature_views()}
    assert {p.name for p in svc.feature_view_projections if p.name not in views} <= on_demand  # computed, no table
    for name, facts in snapshot["feature_tables"].items():
        path = Path(views[name].batch_source.path)
        assert facts["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert facts["rows"] == duck("select count(*) from read_parquet(?)", [str(path)]).fetchone()[0]
    assert snapshot["published_build"] == Path(pipeline_settings.published_warehouse.resolve()).name
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
    assert manifest["code_version"]["git_commit"] == head
    assert abs(datetime.fromisoformat(manifest["created_at"]) - datetime.now().astimezone()) < timedelta(minutes=10)


def test_personalization_features_are_those_known_at_the_label_time(pipeline_settings, tmp_path):
    """Checked against an independent as-of merge of the Parquet table (pandas, TTL applied)."""
    labels = label_rows(pipeline_settings, "personalization")
    build_training_set(pipeline_settings, "personalization_v1", labels, tmp_path / "p.parquet")
    got = pd.read_parquet(tmp_path / "p.parquet")
    view = get_feature_store(pipeline_settings).get_feature_view("customer_features")
    table = pd.read_parquet(view.batch_source.path, columns=["customer_id", "event_timestamp", "orders_lifetime"])
    table["event_timestamp"] = pd.to_datetime(table["event_timestamp"], utc=True)
    table = table.rename(columns={"event_timestamp": "known_at"}).sort_values("known_at")
    left = got[["customer_id", "product_id", "event_timestamp", "orders_lifetime"]].copy()
    left["event_timestamp"] = pd.to_datetime(left["event_timestamp"], utc=True)
    expected = pd.merge_asof(left.sort_values("event_timestamp"), table, left_on="event_timestamp",
                             right_on="known_at", by="customer_id", suffixes=("", "_expected"))
    expected.loc[expected["event_timestamp"] - expected["known_at"] > view.ttl, "orders_lifetime_expected"] = None
    same = (expected["orders_lifetime"].astype("Float64").fillna(-1)
            == expected["orders_lifetime_expected"].astype("Float64").fillna(-1))
    assert same.all(), expected[~same].head()
    assert expected["orders_lifetime"].notna().any()


def test_rcl_training_set_writes_the_set_and_its_manifest(pipeline_settings, tmp_path, monkeypatch):
    from dagster_project.cli import main

    use_settings_env(monkeypatch, pipeline_settings)
    entities = tmp_path / "carts.parquet"
    label_rows(pipeline_settings, "cart_recovery").head(50).to_parquet(entities)
    out = tmp_path / "sets" / "cart.parquet"
    args = ["training-set", "--service", "cart_recovery_v1", "--entities", str(entities), "--out", str(out),
            "--data-dir", str(pipeline_settings.data_dir)]
    assert main(args) == 0
    manifest = json.loads(manifest_path(out).read_text())
    assert manifest["rows"] == len(pd.read_parquet(out)) == 50
    assert manifest["feature_service"] == "cart_recovery_v1"
    assert main(args) != 0  # an existing set is not overwritten silently
    assert main([*args, "--overwrite"]) == 0

    assert main(["training-set", "--service", "product_content_v1", "--labels", "product_content",
                 "--out", str(tmp_path / "pc.parquet"), "--data-dir", str(pipeline_settings.data_dir)]) == 0
    assert json.loads(manifest_path(tmp_path / "pc.parquet").read_text())["rows"] == len(
        label_rows(pipeline_settings, "product_content"))


def test_every_label_recipe_is_documented():
    doc = (REPO_ROOT / "docs" / "training_sets.md").read_text()
    assert set(LABEL_QUERIES) == set(RECIPES.values())  # a recipe per consumer, each tested above
    for consumer in LABEL_QUERIES:
        assert f"\n## {consumer}" in doc, consumer


def test_the_manifest_names_the_dagster_run_that_wrote_the_feature_tables(pipeline_settings, tmp_path, monkeypatch):
    """With DAGSTER_HOME set, the snapshot names the successful full_pipeline run during which the
    feature tables were written (a real run of a real instance; a copied build, rewritten by it)."""
    import shutil
    import uuid

    import dagster as dg

    from dagster_project.feast_ext.repo import apply_feature_repo
    from dagster_project.settings import Settings

    settings = Settings.for_data_dir(tmp_path / "data", online_store="sqlite", feast_project=f"run_{uuid.uuid4().hex[:8]}")
    shutil.copytree(pipeline_settings.features_dir, settings.features_dir)
    apply_feature_repo(settings)

    @dg.op
    def write_feature_tables():
        for path in settings.features_dir.glob("*.parquet"):
            path.write_bytes(path.read_bytes())

    @dg.job(name="full_pipeline")
    def full_pipeline():
        write_feature_tables()

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    with dg.DagsterInstance.get() as instance:
        result = full_pipeline.execute_in_process(instance=instance)
    assert result.success
    products = pd.read_parquet(settings.features_dir / "product_features.parquet", columns=["product_id", "event_timestamp"])
    manifest = build_training_set(settings, "product_content_v1", products.head(20), tmp_path / "pc.parquet")
    assert manifest["data_snapshot"]["pipeline_run"]["run_id"] == result.run_id
    assert manifest["data_snapshot"]["published_build"] is None  # this copy was never published

    monkeypatch.delenv("DAGSTER_HOME")  # without an instance and without rcl run's logs: not guessed
    manifest = build_training_set(settings, "product_content_v1", products.head(20), tmp_path / "pc2.parquet")
    assert manifest["data_snapshot"]["pipeline_run"] is None
