"""The consistency check after a publish, on a real pipeline build: the online store agrees with
the latest offline rows, and a deliberately corrupted online value fails the check (the function
and the Dagster asset check) with an example naming the entity and the feature."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from conftest import use_settings_env

pytestmark = [pytest.mark.slow]


def test_online_store_agrees_with_the_offline_tables(pipeline_settings):
    from dagster_project.serving.consistency import check_online_consistency

    results = check_online_consistency(pipeline_settings, sample_size=100)
    assert results["customer_features"].sampled == 100 and results["product_features"].sampled > 0
    assert results["customer_features"].compared_values >= 100 * 16
    for name, result in results.items():
        assert result.passed, (name, result.examples)


def test_a_corrupted_online_value_fails_the_check(pipeline_settings, tmp_path, monkeypatch):
    import dagster as dg
    from feast.protos.feast.types.Value_pb2 import Value as ValueProto

    from dagster_project.defs.checks.consistency import build_consistency_checks
    from dagster_project.feast_ext.repo import get_feature_store
    from dagster_project.serving.catalog import open_online_store
    from dagster_project.serving.consistency import check_online_consistency, latest_offline_rows
    from dagster_project.serving.read import entity_key

    # a copy of the online store and registry: the session's build stays intact for other tests
    shutil.copytree(pipeline_settings.feast_dir, tmp_path / "feast")
    settings = dataclasses.replace(pipeline_settings, feast_dir=tmp_path / "feast")
    use_settings_env(monkeypatch, settings)
    store = get_feature_store(settings)
    view = store.get_feature_view("customer_features")
    victim = latest_offline_rows(settings, view, sample_size=1)[0]
    key = entity_key(("customer_id",), (victim["customer_id"],), {"customer_id": view.entity_columns[0].dtype.to_value_type()})
    online_store = open_online_store(store)
    [(event_time, values)] = online_store.online_read(store.config, view, [key])
    values["orders_lifetime"] = ValueProto(int64_val=values["orders_lifetime"].int64_val + 7)
    online_store.online_write_batch(store.config, view, [(key, values, event_time, None)], None)

    result = check_online_consistency(settings, ["customer_features"], sample_size=1)["customer_features"]
    assert not result.passed and result.mismatches == 1
    [example] = result.examples
    assert example["entity"] == {"customer_id": victim["customer_id"]}
    assert example["feature"] == "orders_lifetime"
    assert example["online"] == example["offline"] + 7

    checks = {c.check_key.asset_key.path[-1]: c for c in build_consistency_checks(settings, sample_size=1)}
    outcome = checks["customer_features"](dg.build_asset_check_context())
    assert outcome.passed is False
    assert outcome.metadata["mismatches"].value == 1
    assert "orders_lifetime" in str(outcome.metadata["examples"].value)
    assert checks["product_features"](dg.build_asset_check_context()).passed is True
