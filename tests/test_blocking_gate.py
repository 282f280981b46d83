"""A failing expectation stops publishing: the gated feature view is not materialized to the
online store, which keeps serving the last good values, while the other view still publishes.
An invariant blocks whatever the baseline; a drift against the deployment's baseline blocks
until it is accepted."""

from __future__ import annotations

import json
import shutil

import pytest

from dagster_project.pipeline import run_pipeline
from dagster_project.feast_ext.repo import get_feature_store

from conftest import make_settings, use_settings_env

pytestmark = pytest.mark.slow


def test_zero_price_blocks_product_features_but_not_customer_features(pipeline_settings, tmp_path):
    # Start from the published state of the session's run (warehouse, Parquet, registry, online store).
    data_dir = tmp_path / "data"
    shutil.copytree(pipeline_settings.data_dir, data_dir)
    settings = make_settings(data_dir)
    store = get_feature_store(settings)

    products_dir = settings.landing_dir / "pim" / "products"
    last_file = sorted(products_dir.glob("*.jsonl"))[-1]
    product = json.loads(last_file.read_text().splitlines()[0])
    before = store.get_online_features(
        features=["product_features:price"], entity_rows=[{"product_id": product["product_id"]}]
    ).to_dict()["price"][0]
    assert before and before > 0

    # A PIM correction sets the price to 0.00: valid for the source contract (price >= 0), but the
    # feature suite requires a positive price before anything is shown to customers.
    # The correction is dated the last inventory day, so it is in force on the last feature row.
    product["price"] = 0
    last_day = sorted(p.stem for p in (settings.landing_dir / "wms" / "inventory_snapshots").glob("*.csv"))[-1]
    product["updated_at"] = f"{last_day}T12:00:00Z"
    with open(products_dir / f"{last_day}.jsonl", "a") as correction:
        correction.write(json.dumps(product) + "\n")

    result = run_pipeline(settings, partition=last_day)  # the nightly run of the day the correction came
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    gate = checks["product_features_expectations"]
    assert not gate.passed
    failures = gate.metadata["failures"].value
    [zero] = [f for f in failures if f["column"] == "price" and f["unexpected_count"] >= 1]
    assert (zero["gate"], zero["rule"]) == ("invariant", "positive")  # an invariant: blocks whatever the baseline
    assert {row["product_id"] for row in zero["sample_rows"]} == {product["product_id"]}
    assert checks["customer_features_expectations"].passed

    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "features/product_features" in materialized  # the table was rebuilt and validated...
    assert "online_store/product_features" not in materialized  # ...but not published
    assert "online_store/customer_features" in materialized

    after = get_feature_store(settings).get_online_features(
        features=["product_features:price"], entity_rows=[{"product_id": product["product_id"]}]
    ).to_dict()["price"][0]
    assert after == before


def test_a_drift_against_the_baseline_blocks_until_accepted(pipeline_settings, tmp_path):
    """Every product's price is 100 times what it was (a feed switched to cents), delivered with
    the last day's files: valid for the contract and for the invariants, but far outside this
    deployment's baseline. The nightly run of that day is blocked at the gate, which names the
    command that accepts the change; after accept_baseline the view's re-run publishes the new
    prices."""
    from expectations.baseline import accept_baseline

    data_dir = tmp_path / "data"
    shutil.copytree(pipeline_settings.data_dir, data_dir)
    settings = make_settings(data_dir)
    products_dir = settings.landing_dir / "pim" / "products"
    latest = {}
    for path in sorted(products_dir.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            latest[record["product_id"]] = record
    last_day = sorted(p.stem for p in (settings.landing_dir / "wms" / "inventory_snapshots").glob("*.csv"))[-1]
    with open(products_dir / f"{last_day}.jsonl", "a") as feed:
        for record in latest.values():
            feed.write(json.dumps({**record, "price": round(record["price"] * 100, 2), "updated_at": f"{last_day}T12:00:00Z"}) + "\n")

    blocked = run_pipeline(settings, partition=last_day)  # the nightly run of the day the feed changed
    checks = {e.check_name: e for e in blocked.get_asset_check_evaluations()}
    gate = checks["product_features_expectations"]
    assert not gate.passed
    [price] = [f for f in gate.metadata["failures"].value if f["column"] == "price"]
    assert price["gate"] == "profile" and price["by"]["p50"]["spreads"] > 1
    assert "rcl baseline accept product_features" in gate.metadata["to_accept"].value
    materialized = {e.asset_key.to_user_string() for e in blocked.get_asset_materialization_events()}
    assert "online_store/product_features" not in materialized
    assert "online_store/customer_features" in materialized

    accepted = accept_baseline(settings, "product_features")
    assert any(line.startswith("price: p50") for line in accepted["changes"])
    # then, as the gate's message says, the check re-run: the view's table (rebuilt from the same
    # warehouse), its gate and its online materialization, as materialized from the UI
    view = {"features/product_features", "online_store/product_features"}
    published = run_pipeline(settings, assets=sorted(view))
    assert published.success
    checks = {e.check_name: e for e in published.get_asset_check_evaluations()}
    assert checks["product_features_expectations"].passed
    # that view only, with its own checks
    assert {e.asset_key.to_user_string() for e in published.get_asset_check_evaluations()} <= view
    assert {e.asset_key.to_user_string() for e in published.get_asset_materialization_events()} == view
    some = next(iter(latest.values()))
    served = get_feature_store(settings).get_online_features(
        features=["product_features:price"], entity_rows=[{"product_id": some["product_id"]}]
    ).to_dict()["price"][0]
    assert served == pytest.approx(some["price"] * 100)


def test_applying_a_copied_feast_folder_leaves_the_original_online_store_alone(pipeline_settings, tmp_path, monkeypatch):
    import sqlite3

    from dagster_project.feast_ext.repo import apply_feature_repo

    def online_tables(feast_dir):
        with sqlite3.connect(feast_dir / "online_store.db") as conn:
            return {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}

    original = online_tables(pipeline_settings.feast_dir)
    assert original
    data_dir = tmp_path / "data"
    shutil.copytree(pipeline_settings.data_dir, data_dir, symlinks=True)
    copy = make_settings(data_dir)
    use_settings_env(monkeypatch, copy)
    apply_feature_repo(copy)
    assert online_tables(pipeline_settings.feast_dir) == original
    assert online_tables(copy.feast_dir) == original
