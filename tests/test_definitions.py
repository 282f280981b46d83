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
    assert {"customers", "customer_features", "product_features", "feast/registry",
            "online_store/customer_features", "online_store/product_features"} <= materializable

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
    check_specs = {spec.key.name: spec for spec in defs.resolve_all_asset_check_specs()}
    assert check_specs["customer_features_expectations"].blocking
    assert check_specs["product_features_expectations"].blocking


def test_the_code_location_module_loads(monkeypatch, tmp_path):
    make_settings(tmp_path)
    import importlib

    module = importlib.import_module("dagster_project.definitions")
    assert isinstance(module.defs, dg.Definitions)
