"""What a data engineer expects to find in the Dagster UI: every asset has owners and kinds, the
layers people read have freshness policies from the settings, models, features and online views
refresh on their own when upstream changed, and every sensor is registered with its default."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest

from dagster_project.contracts import CONTRACTS
from dagster_project.defs import build_defs
from dagster_project.defs.asset_policies import OWNERS_BY_LAYER, layer
from dagster_project.defs.domains import DOMAINS, IDENTITY_MODELS, PRODUCT_AND_STOCK_MODELS
from dagster_project.settings import Settings

from conftest import make_settings

# Layers read by people or services: their lateness is what an operator is told about.
FRESHNESS_LAYERS = {"ingestion", "marts", "features", "feast", "publish"}


@pytest.fixture(scope="module")
def defs_and_settings(tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("operational"), freshness_raw_hours=20.0,
                             freshness_marts_hours=22.0, freshness_features_hours=23.0,
                             freshness_online_hours=25.0, freshness_fail_after_hours=12.0)
    return build_defs(settings), settings


def _windows(policy) -> tuple[timedelta, timedelta]:
    return policy.warn_window.to_timedelta(), policy.fail_window.to_timedelta()


def test_every_asset_has_owners_and_kinds(defs_and_settings):
    defs, _ = defs_and_settings
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.owners and all(o.startswith("team:") for o in node.owners), key.to_user_string()
        assert node.owners == [OWNERS_BY_LAYER[layer(key)]], key.to_user_string()
        assert node.kinds, key.to_user_string()
    kinds = {k.to_user_string(): graph.get(k).kinds for k in graph.get_all_asset_keys()}
    assert {"duckdb", "great_expectations"} <= kinds["raw/oms__orders"]
    assert {"dbt", "duckdb"} <= kinds["marts/customers"]
    assert {"dbt", "parquet", "great_expectations"} <= kinds["features/customer_features"]
    assert {"feast", "sqlite"} <= kinds["online_store/customer_features"]
    assert kinds["feast/registry"] == {"feast"}
    assert kinds["warehouse/published"] == {"duckdb"}


def test_freshness_windows_come_from_the_settings(defs_and_settings):
    defs, settings = defs_and_settings
    graph = defs.resolve_asset_graph()
    expected = {
        "ingestion": settings.freshness_raw_hours, "marts": settings.freshness_marts_hours,
        "publish": settings.freshness_marts_hours, "features": settings.freshness_features_hours,
        "feast": settings.freshness_online_hours,
    }
    with_policy = set()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if layer(key) in FRESHNESS_LAYERS and key != dg.AssetKey(["feast", "registry"]):
            hours = expected[layer(key)]
            assert _windows(node.freshness_policy) == (timedelta(hours=hours), timedelta(hours=hours + 12)), key
            with_policy.add(key.to_user_string())
        else:
            assert node.freshness_policy is None, key.to_user_string()
    assert {f"raw/{c.name}" for c in CONTRACTS} <= with_policy
    assert {"marts/customers", "features/customer_features", "online_store/customer_features",
            "warehouse/published"} <= with_policy


def test_groups_are_domains(defs_and_settings):
    """The UI's groups are the business domains; each layer still shows in the keys."""
    defs, _ = defs_and_settings
    graph = defs.resolve_asset_graph()
    groups = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert set(groups.values()) == set(DOMAINS)
    assert {groups["raw/oms__orders"], groups["staging/stg_oms__orders"]} == {"sources"}
    assert {groups[f"{'intermediate' if m.startswith('int_') else 'marts'}/{m}"] for m in IDENTITY_MODELS} == {"identity"}
    assert {groups[f"{'intermediate' if m.startswith('int_') else 'marts'}/{m}"]
            for m in PRODUCT_AND_STOCK_MODELS} == {"product_and_stock"}
    assert groups["marts/customers"] == groups["marts/orders"] == "customer_360"
    assert groups["audit/orphan_rates"] == "data_quality"
    assert groups["features/customer_features"] == "features"
    assert groups["feast/registry"] == groups["online_store/customer_features"] == groups["warehouse/published"] == "serving"


def test_the_default_windows_suit_a_daily_batch():
    """A day of deliveries plus the nightly run warns; a whole missed day fails."""
    settings = Settings.from_env({"RCL_DATA_DIR": "data"})
    for hours in (settings.freshness_raw_hours, settings.freshness_marts_hours,
                  settings.freshness_features_hours, settings.freshness_online_hours):
        assert 24 < hours <= 36
    assert settings.freshness_raw_hours <= settings.freshness_marts_hours <= settings.freshness_online_hours
    assert settings.freshness_fail_after_hours >= 24
    moved = Settings.from_env({"RCL_DATA_DIR": "data", "RCL_FRESHNESS_MARTS_HOURS": "50",
                               "RCL_ALERT_WEBHOOK_URL": " http://alerts.internal/hook "})
    assert (moved.freshness_marts_hours, moved.alert_webhook_url) == (50.0, "http://alerts.internal/hook")
    assert Settings.from_env({**moved.env(), "RCL_DATA_DIR": "data"}).freshness_marts_hours == 50.0
    with pytest.raises(ValueError, match="RCL_FRESHNESS_RAW_HOURS"):
        Settings.from_env({"RCL_FRESHNESS_RAW_HOURS": "0"})


def test_models_features_and_online_views_refresh_when_upstream_changed(defs_and_settings):
    defs, _ = defs_and_settings
    graph = defs.resolve_asset_graph()
    labels = {k.to_user_string(): (graph.get(k).automation_condition.get_label()
                                   if graph.get(k).automation_condition else None)
              for k in graph.get_all_asset_keys()}
    for key, label in labels.items():
        if key.split("/")[0] in ("staging", "intermediate", "marts", "features", "audit", "warehouse"):
            assert label == "eager", key
    # online views wait for their feature table's blocking gates
    assert labels["online_store/customer_features"] == "eager once blocking checks passed"
    # sources are loaded by the landing sensors or the schedule; the registry by a pipeline run
    assert labels["raw/oms__orders"] is None and labels["feast/registry"] is None


def test_every_sensor_is_registered_with_its_default_status(defs_and_settings):
    defs, _ = defs_and_settings
    sensors = {s.name: s for s in defs.sensors}
    systems = sorted({c.system for c in CONTRACTS})
    assert set(sensors) == {*(f"{s}_landing_files" for s in systems), "alert_on_run_failure",
                            "refresh_on_upstream_change"}
    for system in systems:
        assert sensors[f"{system}_landing_files"].default_status == dg.DefaultSensorStatus.STOPPED
    assert sensors["refresh_on_upstream_change"].default_status == dg.DefaultSensorStatus.STOPPED
    assert sensors["alert_on_run_failure"].default_status == dg.DefaultSensorStatus.RUNNING
    # the repository resolves every sensor's target (a wrong selection fails here)
    repository = defs.get_repository_def()
    assert {s.name for s in repository.sensor_defs} == set(sensors)
    assert {s.name for s in defs.schedules} == {"nightly_pipeline"}


def test_a_landing_sensor_targets_its_system_and_the_incremental_models_reading_it(defs_and_settings):
    defs, _ = defs_and_settings
    repository = defs.get_repository_def()
    for system in ("wms", "oms"):
        sensor = repository.get_sensor_def(f"{system}_landing_files")
        job = repository.get_job(sensor.job_name)
        keys = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
        raw = {k for k in keys if k.startswith("raw/")}
        assert raw == {f"raw/{c.name}" for c in CONTRACTS if c.system == system}
        models = keys - raw
        assert models and all(f"_{system}__" in k or k in ("intermediate/int_sessions", "marts/inventory_positions")
                              for k in models), models
        assert job.partitions_def is not None
