"""The Dagster code location loads, and its lineage is one connected graph from landing files
to the online store."""

from __future__ import annotations

import dagster as dg

from dagster_project.contracts import CONTRACTS
from dagster_project.defs import build_defs

from conftest import make_settings


def test_definitions_load_and_lineage_is_connected(tmp_path):
    defs = build_defs(make_settings(tmp_path))
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}

    raw_keys = {f"raw/{c.name}" for c in CONTRACTS}
    assert raw_keys <= keys
    # every dbt source is the ingestion asset of the same entity (no dangling source assets)
    materializable = {k.to_user_string() for k in graph.materializable_asset_keys}
    assert raw_keys <= materializable
    assert {"marts/customers", "features/customer_features", "features/product_features", "feast/registry",
            "online_store/customer_features", "online_store/product_features"} <= materializable

    # no asset depends on a key that nothing materializes (a typo would silently cut lineage)
    for key in graph.materializable_asset_keys:
        for parent in graph.get(key).parent_keys:
            assert parent in graph.materializable_asset_keys, f"{key.to_user_string()} <- {parent.to_user_string()}"

    # every source entity feeds the online store through the graph
    online = dg.AssetKey(["online_store", "customer_features"])
    seen, frontier = set(), [online]
    while frontier:
        key = frontier.pop()
        for parent in graph.get(key).parent_keys:
            if parent not in seen:
                seen.add(parent)
                frontier.append(parent)
    assert {f"raw/{n}" for n in ("oms__orders", "web__events", "crm__customers", "crm__email_events")} <= {
        k.to_user_string() for k in seen
    }

    # blocking gates sit on the feature tables
    check_specs = {key.name: graph.get_check_spec(key) for key in graph.asset_check_keys}
    assert check_specs["customer_features_expectations"].blocking
    assert check_specs["product_features_expectations"].blocking


def test_the_code_location_module_loads(monkeypatch, tmp_path):
    for name, value in make_settings(tmp_path).env().items():
        monkeypatch.setenv(name, value)
    import importlib

    module = importlib.import_module("dagster_project.definitions")
    assert isinstance(module.defs, dg.Definitions)


def test_publishing_waits_for_the_marts_but_not_for_the_feature_gates(tmp_path):
    defs = build_defs(make_settings(tmp_path))
    graph = defs.resolve_asset_graph()
    published = dg.AssetKey(["warehouse", "published"])
    parents = graph.get(published).parent_keys
    # it waits for every model outside the features (directly or through a model that reads it)...
    ancestors, frontier = set(), list(parents)
    while frontier:
        key = frontier.pop()
        if key not in ancestors:
            ancestors.add(key)
            frontier.extend(graph.get(key).parent_keys)
    models = {k for k in graph.materializable_asset_keys if k.path[0] in ("staging", "intermediate", "marts", "audit")}
    assert len(models) > 40 and models <= ancestors
    assert {"marts/customers", "marts/carts"} <= {k.to_user_string() for k in parents}
    # ...drawn with an edge only from the models no other of them reads, none from a feature table
    assert len(parents) < 25
    assert not any(graph.get(other).parent_keys & {p} for p in parents for other in parents)
    assert not any(p.path[0] == "features" for p in ancestors)


def test_the_dbt_resource_knows_its_version_without_starting_dbt(monkeypatch):
    """dagster-dbt would run `dbt --version` in every dbt step; ours reads the installed package."""
    import subprocess
    from importlib.metadata import version

    import dagster_dbt.core.resource as dbt_resource

    from dagster_project.defs.project import dbt_cli

    def no_process(*args, **kwargs):
        raise AssertionError(f"started a process: {args}")

    monkeypatch.setattr(dbt_resource, "check_output", no_process)
    monkeypatch.setattr(subprocess, "check_output", no_process)
    assert str(dbt_cli()._cli_version) == version("dbt-core")


def _upstream(graph, key: dg.AssetKey) -> set[str]:
    seen, frontier = set(), [key]
    while frontier:
        for parent in graph.get(frontier.pop()).parent_keys:
            if parent.to_user_string() not in seen:
                seen.add(parent.to_user_string())
                frontier.append(parent)
    return seen


def test_dbt_steps_follow_the_lineage_so_a_failure_stays_where_it_happened(tmp_path):
    """A failed step stops only the steps downstream of it: the warehouse source's daily models are
    a step of their own, one feature table per step, and the feature tables and views that do not
    read the warehouse source do not wait for it."""
    defs = build_defs(make_settings(tmp_path))
    graph = defs.resolve_asset_graph()
    dbt_steps = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and a.op.name.startswith("dbt_")]
    assert {"dbt_daily", "dbt_daily_wms", "dbt_core", "dbt_audit"} <= {a.op.name for a in dbt_steps}
    for step in dbt_steps:
        upstream = {p.to_user_string() for key in step.keys for p in graph.get(key).parent_keys} - {
            k.to_user_string() for k in step.keys}
        if step.op.name == "dbt_daily_wms":
            assert upstream and all(p.startswith("raw/wms__") for p in upstream), upstream
        if step.op.name == "dbt_daily":
            assert upstream and all(p.startswith(("raw/oms__", "raw/web__")) for p in upstream), upstream
        # one feature table per step: one table's failure does not hold back another view
        features = [k for k in step.keys if k.path[0] == "features"]
        assert len(features) <= 1 and (not features or len(step.keys) == 1), step.op.name

    for view in ("customer_features", "cart_features"):
        lineage = _upstream(graph, dg.AssetKey(["online_store", view]))
        assert not any(k.startswith("raw/wms__") or k.startswith("staging/stg_wms__") for k in lineage), view
    assert "raw/wms__locations" in _upstream(graph, dg.AssetKey(["online_store", "product_features"]))


def test_every_dbt_test_runs_in_the_step_that_builds_its_last_parent(tmp_path):
    """dbt runs with `buildable` indirect selection: a test runs in its model's step only when
    every model it reads is built there or upstream. A test between two models of unrelated
    steps would silently never run; cross-source references belong in audit.orphans instead."""
    import json

    from dagster_project.defs.assets.dbt import dbt_steps
    from dagster_project.defs.project import dbt_project

    build_defs(make_settings(tmp_path))  # parses the project if needed
    manifest = json.loads(dbt_project.manifest_path.read_text())
    steps = dbt_steps(manifest)
    uid_of = {node["name"]: uid for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}

    def ancestors(unique_id: str) -> set[str]:
        seen, frontier = set(), [unique_id]
        while frontier:
            for parent in manifest["nodes"].get(frontier.pop(), {}).get("depends_on", {}).get("nodes", []):
                if parent not in seen:
                    seen.add(parent)
                    frontier.append(parent)
        return seen

    never_run = []
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] != "test":
            continue
        parents = {p for p in node["depends_on"]["nodes"] if p.startswith("model.")}
        # dbt's `buildable`: a step runs the test when its models and their ancestors hold every parent
        runs_in = [name for name, step in steps.items()
                   if parents & {uid_of[m] for m in step["models"]}
                   and parents <= {uid_of[m] for m in step["models"]}.union(*(ancestors(uid_of[m]) for m in step["models"]))]
        if not runs_in:
            never_run.append(node["name"])
    assert never_run == []


def test_rejected_deliveries_and_orphan_rates_have_checks(tmp_path):
    defs = build_defs(make_settings(tmp_path))
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert {(f"raw/{c.name}", "delivery_accepted") for c in CONTRACTS} <= checks
    assert ("audit/orphan_rates", "orphan_rate_within_limit") in checks
    # nothing waits for them: a breach fails the run, not the rest of the graph
    assert not any(graph.get_check_spec(k).blocking for k in graph.asset_check_keys
                   if k.name in ("delivery_accepted", "orphan_rate_within_limit"))


def test_dbt_tests_are_described_checks_of_the_asset_they_guard(tmp_path):
    """Singular tests carry the description of dbt/tests/singular_tests.yml, one reading several
    models is a check of the model its meta names (not an observation), generic ones say what they test."""
    from conftest import ensure_current_manifest

    settings = make_settings(tmp_path)
    ensure_current_manifest(tmp_path)  # the checkout's tests, not an older manifest's
    graph = build_defs(settings).resolve_asset_graph()
    specs = {key.name: graph.get_check_spec(key) for key in graph.asset_check_keys}
    revenue = specs["assert_no_order_revenue_lost_in_features"]
    assert revenue.asset_key == dg.AssetKey(["features", "customer_features"])
    assert revenue.description.startswith("Lifetime revenue in each customer's latest feature row")
    assert specs["assert_one_customer_per_identifier"].description.startswith("Every identifier")
    assert specs["not_null_order_status_order_id"].description == "dbt test not_null (column_name=order_id)"
    assert all(spec.description for name, spec in specs.items() if name.startswith(("not_null_", "unique_")))
