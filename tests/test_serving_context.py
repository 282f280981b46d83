"""Context a generator can cite and claim checks, over real HTTP and in process: each fact with
value, status, as-of time, the dbt model and source systems read from the dbt manifest, trimmed
by the service's declared order; claims true only on a present, fresh value."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dagster_project.defs.project import ensure_manifest
from dagster_project.serving.context import get_context, model_provenance, verify_claims
from conftest import make_settings
from test_serving_support import FRESH, OLD, build_served_world, post, running_server


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    # a fresh checkout has no manifest yet: parse the dbt project once, with a data dir's settings
    ensure_manifest(make_settings(tmp_path_factory.mktemp("parse") / "data"))
    settings = build_served_world(tmp_path_factory.mktemp("served"))
    with running_server(settings) as port:
        yield settings, port


def _text(ts) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_context_facts_carry_value_time_and_provenance(served):
    settings, port = served
    sent = datetime.now(timezone.utc)
    status, answer = post(port, "/context", {"feature_service": "product_content_v1",
                                             "entities": {"product_id": ["SKU-1", "SKU-OLD"]}, "max_facts": 5},
                          headers={"X-Request-Id": "copy-1"})
    answered = datetime.now(timezone.utc)
    assert status == 200, answer
    assert answer["request_id"] == "copy-1"
    fresh, old = answer["contexts"]
    assert fresh["entities"] == {"product_id": "SKU-1"} and len(fresh["facts"]) == 5 and fresh["trimmed"] == 13
    price = fresh["facts"][0]
    assert (price["name"], price["value"], price["status"], price["as_of"]) == ("price", 10.25, "PRESENT", _text(FRESH))
    assert price["dbt_model"] == "product_features"
    # the product features read the PIM, OMS, web and WMS sources (walked up the manifest's lineage)
    assert {"pim", "oms", "web", "wms"} <= set(price["source_systems"])
    assert price["description"] == model_provenance()["product_features"]["columns"]["price"]
    # the age is the server's clock minus the value's time, read between sending and the answer
    assert (sent - FRESH).total_seconds() - 1 <= price["age_seconds"] <= (answered - FRESH).total_seconds() + 1
    assert old["facts"][0]["status"] == "OUTSIDE_MAX_AGE" and old["facts"][0]["value"] is None
    assert old["facts"][0]["as_of"] == _text(OLD)
    # the same in process
    assert get_context(settings, "product_content_v1", {"product_id": ["SKU-1"]}, max_facts=5)[0]["facts"][0]["value"] == 10.25


def test_claims_hold_only_on_present_fresh_values(served):
    settings, port = served
    claims = [
        {"product_id": "SKU-1", "claim": "in_stock"},
        {"product_id": "SKU-1", "claim": "stock_at_most", "value": 15},      # units_available is 15
        {"product_id": "SKU-1", "claim": "stock_at_most", "value": 14},
        {"product_id": "SKU-1", "claim": "price_is", "value": 10.25},
        {"product_id": "SKU-1", "claim": "pickup_stores_at_least", "value": 18},  # stores_in_stock is 17
        {"product_id": "SKU-2", "claim": "in_stock"},                           # is_in_stock false
        {"product_id": "SKU-OLD", "claim": "in_stock"},                         # true, but 40 days old
        {"product_id": "SKU-NONE", "claim": "in_stock"},
    ]
    status, answer = post(port, "/claims", {"claims": claims})
    assert status == 200, answer
    assert [c["holds"] for c in answer["claims"]] == [True, True, False, True, False, False, False, False]
    assert answer["claims"][1]["current_value"] == 15 and answer["claims"][1]["as_of"] == _text(FRESH)
    assert answer["claims"][6]["status"] == "OUTSIDE_MAX_AGE" and answer["claims"][7]["status"] == "NOT_FOUND"
    assert [c["holds"] for c in verify_claims(settings, claims[:3])] == [True, True, False]
    for bad in ({"claims": []}, {"claims": [{"product_id": "SKU-1", "claim": "cheapest"}]},
                {"claims": [{"product_id": "SKU-1", "claim": "stock_at_most", "value": "3"}]},
                {"claims": [{"product_id": 7, "claim": "in_stock"}]}):
        assert post(port, "/claims", bad)[0] == 422
