"""The deployment's Feast store (dagster_project/feast_ext/repo.py): the feature repo imports
without side effects, applying it is `FeatureStore.apply` (objects no longer defined are
deleted), the resolved feature_store.yaml serves `feast serve` from a clean shell, and the
online-store steps are retried by Dagster. Real Feast, real SQLite, a real `feast serve`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
import uuid
from datetime import datetime, timezone

import pandas as pd
import pytest

from dagster_project.feast_ext.repo import apply_feature_repo, get_feature_store
from dagster_project.settings import REPO_ROOT, Settings

VENV_BIN = os.path.dirname(sys.executable)
CLEAN_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONPATH": str(REPO_ROOT)}


def _settings(tmp_path, **overrides) -> Settings:
    return Settings.for_data_dir(tmp_path / "data", feast_project=f"repo_{uuid.uuid4().hex[:8]}", **overrides)


def test_importing_the_feature_repo_reads_no_setting_and_touches_nothing(tmp_path):
    code = (
        "import json, os, sys\n"
        "import feast  # Feast itself exports its metrics folder when imported: not the repo's doing\n"
        "before = dict(os.environ)\n"
        "import feature_repo.entities, feature_repo.data_sources, feature_repo.feature_views, feature_repo.feature_services\n"
        "import feature_repo.personalization, feature_repo.returns_risk, feature_repo.content_variants\n"
        "print(json.dumps({'env_changed': dict(os.environ) != before,\n"
        "                  'settings_imported': 'dagster_project.settings' in sys.modules,\n"
        "                  'files': os.listdir('.'),\n"
        "                  'paths': sorted(s.path for s in vars(feature_repo.data_sources).values() if hasattr(s, 'file_options'))}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=CLEAN_ENV, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"env_changed": False, "settings_imported": False, "files": [],
                      "paths": ["cart_features.parquet", "customer_features.parquet", "product_features.parquet"]}


def test_apply_registers_the_repo_with_absolute_sources_and_deletes_what_it_no_longer_defines(tmp_path):
    from feast import FeatureService, FeatureView, Field, FileSource
    from feast.types import Int64

    from dagster_project.feast_ext.feature_tables import FEATURE_VIEWS
    from dagster_project.feast_ext.repo import feature_repo_modules

    settings = _settings(tmp_path)
    apply_feature_repo(settings)
    store = get_feature_store(settings)
    views = {v.name: v for v in store.list_feature_views()}
    # every published feature table has its view, and nothing else is registered as one
    assert set(views) == set(FEATURE_VIEWS)
    assert {"customer_features", "product_features", "cart_features"} <= set(views)
    assert views["customer_features"].batch_source.path == str(settings.features_dir / "customer_features.parquet")
    services = {s.name for s in store.list_feature_services()}
    assert services == {value.name for module in feature_repo_modules() for value in vars(module).values()
                        if isinstance(value, FeatureService)}
    assert {"personalization_v1", "product_content_v1", "cart_recovery_v1"} <= services

    # a view applied earlier that the repo no longer defines
    retired_source = FileSource(name="retired_source", path=str(tmp_path / "retired.parquet"), timestamp_field="ts")
    customer = store.get_entity("customer")
    store.apply([retired_source, FeatureView(name="retired_view", entities=[customer], source=retired_source,
                                             schema=[Field(name="x", dtype=Int64)])])
    assert "retired_view" in {v.name for v in get_feature_store(settings).list_feature_views()}
    report = apply_feature_repo(settings)
    store = get_feature_store(settings)
    assert "retired_view" not in {v.name for v in store.list_feature_views()}
    assert "retired_source" not in {s.name for s in store.list_data_sources()}
    assert "deleted FeatureView retired_view" in report and "applied FeatureView cart_features" in report
    assert {e.name for e in store.list_entities()} == {"customer", "product", "location", "order", "content_variant",
                                                       "content_segment"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(port: int, path: str, body: dict) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_feast_serve_runs_from_a_clean_shell_on_the_written_yaml(tmp_path):
    from feast.data_source import PushMode

    from bench.online import stop, wait_ready

    settings = _settings(tmp_path)
    apply_feature_repo(settings)
    yaml_text = (settings.feast_dir / "feature_store.yaml").read_text()
    assert "${" not in yaml_text and str(settings.feast_dir / "registry.db") in yaml_text
    change = pd.DataFrame({
        "customer_id": ["cus_http"], "event_timestamp": [pd.Timestamp(datetime.now(timezone.utc))],
        "cart_id": ["ct_http"], "cart_value": [42.5], "cart_items": [2], "cart_checkout_step": [1],
        "cart_shipping_amount_seen": [None], "cart_ordered": [False], "cart_device": ["desktop"],
    })
    get_feature_store(settings).push("cart_features_push", change, to=PushMode.ONLINE)

    port = _free_port()
    log = open(tmp_path / "serve.log", "w")
    # the documented command, from another directory, with nothing exported
    server = subprocess.Popen([os.path.join(VENV_BIN, "feast"), "-c", str(settings.feast_dir), "serve",
                               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                              cwd=tmp_path, env=CLEAN_ENV, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_ready(port, server)
        answer = _post(port, "/get-online-features", {
            "features": ["cart_features:cart_value", "cart_features:cart_id"],
            "entities": {"customer_id": ["cus_http", "cus_nobody"]},
        })
    finally:
        stop(server)
        log.close()
    values = {name: result["values"] for name, result in zip(answer["metadata"]["feature_names"], answer["results"])}
    assert values["cart_value"] == [42.5, None] and values["cart_id"] == ["ct_http", None]


def test_an_unreachable_online_store_is_retried_by_dagster_then_fails_naming_view_and_server(tmp_path, monkeypatch):
    import dagster as dg

    import dagster_project.defs.assets.feast as feast_assets
    from dagster_project.defs.assets.feast import build_feast_assets, online_asset_key
    from dagster_project.feast_ext.feature_tables import feature_table_path

    # the deployment's number of attempts, with short waits between them (1 + 2 + 4 s by default)
    policy = feast_assets.ONLINE_STORE_RETRY
    monkeypatch.setattr(feast_assets, "ONLINE_STORE_RETRY",
                        dg.RetryPolicy(max_retries=policy.max_retries, delay=0.05, backoff=policy.backoff))
    ONLINE_STORE_RETRY = feast_assets.ONLINE_STORE_RETRY

    port = _free_port()  # nothing listens there
    settings = _settings(tmp_path, online_store="redis", redis_url=f"redis://:secret@127.0.0.1:{port}/0")
    settings.features_dir.mkdir(parents=True)
    pd.DataFrame({"event_timestamp": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True)}).to_parquet(
        feature_table_path(settings, "product_features"))
    online = next(a for a in build_feast_assets(settings) if a.key == online_asset_key("product_features"))
    assert online.op.retry_policy == ONLINE_STORE_RETRY and ONLINE_STORE_RETRY.max_retries >= 1
    result = dg.materialize([online], raise_on_error=False)
    assert not result.success
    retries = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert len(retries) == ONLINE_STORE_RETRY.max_retries
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    attempts = ONLINE_STORE_RETRY.max_retries + 1
    assert "'product_features'" in message and f"127.0.0.1:{port}" in message
    assert f"step attempt {attempts} of {attempts}" in message and "secret" not in message
