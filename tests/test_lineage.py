"""`rcl lineage`: a feature's chain down to the landing folders, from the feature repo and the dbt
manifest, on a data dir where no pipeline ever ran (only a manifest is needed). The upstream DAG
is checked against the view tags derived by other code (feast_ext/repo.py), and against facts of
the models (what staging model reads which source)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dagster_project.cli import main
from dagster_project.defs.project import dbt_project, ensure_manifest
from dagster_project.lineage import UnknownFeature, feature_lineage
from dagster_project.settings import DBT_PROJECT_DIR
from conftest import make_settings


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    """A data dir with nothing in it, and a manifest no older than the dbt ymls and models."""
    settings = make_settings(tmp_path_factory.mktemp("lineage") / "data")
    path = Path(dbt_project.manifest_path)
    files = [p for p in (DBT_PROJECT_DIR / "models").rglob("*") if p.suffix in (".yml", ".sql")]
    stale = not path.exists() or max(p.stat().st_mtime for p in files) > path.stat().st_mtime
    ensure_manifest(settings, refresh=stale)
    return settings


def _names(lineage: dict) -> set[str]:
    return {m["name"] for m in lineage["upstream"]}


def test_customer_feature_lineage(settings):
    lineage = feature_lineage(settings, "customer_features:orders_lifetime")
    view = lineage["feature_view"]
    assert (lineage["feature"], view["name"], view["tables"]) == (
        "customer_features:orders_lifetime", "customer_features", ["customer_features.parquet"])
    # services whose projection of customer_features includes orders_lifetime, and only those
    assert {"personalization_v1", "cart_recovery_v1", "personalization_v2"} <= set(lineage["feature_services"])
    assert "product_content_v1" not in lineage["feature_services"]
    assert lineage["dbt_models"] == ["customer_features"]
    assert lineage["upstream"][0]["name"] == "customer_features"
    assert {"int_customer_activity_daily", "orders", "stg_oms__orders", "stg_crm__customers"} <= _names(lineage)
    by_name = {m["name"]: m for m in lineage["upstream"]}
    assert by_name["stg_oms__orders"]["depends_on"] == ["source oms.orders"]
    assert by_name["stg_oms__orders"]["layer"] == "staging"
    assert by_name["stg_oms__orders"]["path"] == "dbt/models/staging/oms/stg_oms__orders.sql"
    sources = {s["name"]: s for s in lineage["sources"]}
    assert {"oms.orders", "oms.order_lines", "crm.customers", "web.events"} <= set(sources)
    orders = sources["oms.orders"]
    assert orders["table"] == "raw.oms__orders"
    assert orders["landing_folder"] == str(settings.landing_dir / "oms" / "orders")
    assert "oms/orders/<YYYY-MM-DD>.csv" in orders["landing_files"]
    assert orders["delivered_files"] is None  # no landing folder: nothing delivered here yet
    assert orders["pii_columns"]["email"] == ["email"] and orders["pii_columns"]["shipping_address"] == ["address"]
    assert sources["web.events"]["landing_files"][0] == "web/events/<YYYY-MM-DD>.jsonl"


def test_stock_feature_lineage(settings):
    lineage = feature_lineage(settings, "stock_by_location:units_available")
    assert lineage["feature_view"]["name"] == "stock_by_location"
    assert lineage["feature_view"]["push_source"] == "stock_by_location_push"
    assert lineage["feature_services"] == ["availability_v1"]
    assert lineage["dbt_models"] == ["stock_by_location"]
    assert {"stg_wms__inventory_snapshots", "stg_wms__locations"} <= _names(lineage)
    sources = {s["name"]: s for s in lineage["sources"]}
    assert "wms/inventory_snapshots/<YYYY-MM-DD>.csv" in sources["wms.inventory_snapshots"]["landing_files"]
    assert sources["wms.locations"]["landing_folder"] == str(settings.landing_dir / "wms" / "locations")


def test_the_chain_agrees_with_the_derived_view_tags(settings):
    """What lineage walks equals the tags feast_ext/repo.py derives for the view."""
    for feature in ("customer_features:orders_lifetime", "product_features:units_available",
                    "customer_consent_features:email_consent"):
        lineage = feature_lineage(settings, feature)
        tags = lineage["feature_view"]["tags"]
        assert _names(lineage) - set(lineage["dbt_models"]) == set(tags["upstream_models"].split(",")), feature
        assert {s["system"] for s in lineage["sources"]} == set(tags["source_systems"].split(",")), feature
        assert tags["dbt_model"] == ",".join(lineage["dbt_models"])


def test_on_demand_feature_lineage(settings):
    lineage = feature_lineage(settings, "price_vs_typical_price")
    view = lineage["feature_view"]
    assert (view["name"], view["kind"]) == ("candidate_price_vs_price_band", "OnDemandFeatureView")
    assert view["source_views"] == ["customer_profile_features", "product_features"]
    assert lineage["dbt_models"] == ["customer_profile_features", "product_features"]
    assert "personalization_v2" in lineage["feature_services"]


def test_unknown_and_ambiguous_features(settings):
    with pytest.raises(UnknownFeature) as unknown:
        feature_lineage(settings, "orders_lifetim")
    assert "customer_features:orders_lifetime" in unknown.value.matches
    with pytest.raises(UnknownFeature) as ambiguous:
        feature_lineage(settings, "units_available")  # product_features and stock_by_location
    assert ambiguous.value.ambiguous
    assert {"product_features:units_available", "stock_by_location:units_available"} <= set(ambiguous.value.matches)


def test_cli_text_json_and_exit_codes(settings, capsys):
    data_dir = ["--data-dir", str(settings.data_dir)]
    assert main(["lineage", "customer_features:orders_lifetime", *data_dir]) == 0
    text = capsys.readouterr().out
    assert "feature view      customer_features" in text and "oms/orders/<YYYY-MM-DD>.csv" in text
    assert main(["lineage", "stock_by_location:units_available", "--json", *data_dir]) == 0
    parsed = json.loads(capsys.readouterr().out)
    assert parsed["dbt_models"] == ["stock_by_location"]
    assert main(["lineage", "no_such_feature_at_all", *data_dir]) == 2
    assert main(["lineage", "orders_lifetim", *data_dir]) == 2
    err = capsys.readouterr().err
    assert "close matches" in err and "customer_features:orders_lifetime" in err
