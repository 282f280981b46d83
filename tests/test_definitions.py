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
    make_settings(tmp_path)
    import importlib

    module = importlib.import_module("dagster_project.definitions")
    assert isinstance(module.defs, dg.Definitions)


def test_publishing_waits_for_the_marts_but_not_for_the_feature_gates(tmp_path):
    defs = build_defs(make_settings(tmp_path))
    graph = defs.resolve_asset_graph()
    parents = {k.to_user_string() for k in graph.get(dg.AssetKey(["warehouse", "published"])).parent_keys}
    assert {"marts/customers", "marts/orders", "marts/carts", "marts/sessions"} <= parents
    assert not any(p.startswith("features/") for p in parents)


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
