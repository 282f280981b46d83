"""What a served value means, on SQLite and on Redis: a view's TTL applies online (older values
are OUTSIDE_MAX_AGE with a null value), a request's max_age_seconds tightens it, an unknown
entity is NOT_FOUND (also through Feast's own SDK on Redis), and each value carries its event
time and, on request, its age."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from conftest import REQUIRE_SERVICES, SERVICE_REDIS_URL, _redis_available
from test_serving_support import FRESH, OLD, build_served_world, column, post, running_server

READ = {"features": ["product_features:price", "product_features:brand", "customer_features:orders_lifetime"],
        "entities": {"product_id": ["SKU-1", "SKU-OLD", "SKU-NONE"], "customer_id": ["cus_a", "cus_b", "cus_none"]},
        "include_age": True}


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def served(request, tmp_path_factory):
    if request.param == "redis":
        problem = _redis_available(SERVICE_REDIS_URL)
        if problem:
            (pytest.fail if REQUIRE_SERVICES else pytest.skip)(problem)
        redis_url = SERVICE_REDIS_URL
        settings = build_served_world(tmp_path_factory.mktemp("served_redis"), "redis", redis_url)
    else:
        settings = build_served_world(tmp_path_factory.mktemp("served_sqlite"))
    try:
        with running_server(settings) as port:
            yield settings, port
    finally:
        if request.param == "redis":
            from dagster_project.feast_ext.repo import get_feature_store

            get_feature_store(settings).teardown()


def _text(ts) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_ttl_unknown_entities_and_event_times(served):
    _, port = served
    before = datetime.now(timezone.utc)
    status, answer = post(port, "/get-online-features", READ)
    after = datetime.now(timezone.utc)
    assert status == 200, answer
    price = column(answer, "price")
    # SKU-OLD is 40 days old, product_features' TTL is 30 days
    assert price["values"] == [10.25, None, None]
    assert price["statuses"] == ["PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND"]
    assert price["event_timestamps"] == [_text(FRESH), _text(OLD), "1970-01-01T00:00:00Z"]
    # the age is measured when the request is served (the world was written at module import)
    assert (before - FRESH).total_seconds() - 1 <= price["ages_seconds"][0] <= (after - FRESH).total_seconds() + 1
    assert price["ages_seconds"][2] is None
    # customer_features' TTL is 365 days: the 40-day-old customer is still served
    orders = column(answer, "orders_lifetime")
    assert orders["values"] == [1, 2, None] and orders["statuses"] == ["PRESENT", "PRESENT", "NOT_FOUND"]


def test_max_age_of_a_request(served):
    _, port = served
    status, answer = post(port, "/get-online-features", READ | {"max_age_seconds": 7 * 86_400})
    assert status == 200
    orders = column(answer, "orders_lifetime")
    assert orders["values"] == [1, None, None]
    assert orders["statuses"] == ["PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND"]
    assert orders["event_timestamps"][1] == _text(OLD)  # the stale value's time is still told
    status, answer = post(port, "/get-online-features", READ | {"max_age_seconds": 3600})
    assert column(answer, "price")["statuses"] == ["OUTSIDE_MAX_AGE", "OUTSIDE_MAX_AGE", "NOT_FOUND"]


def test_unknown_entity_is_not_found_through_feast_too(served):
    """Feast's SDK on the same store: an entity without values is NOT_FOUND (on Redis this needs
    the store's reading of a missing timestamp field; without it Feast says PRESENT, 1970)."""
    from dagster_project.feast_ext.repo import get_feature_store

    settings, _ = served
    store = get_feature_store(settings)
    response = store.get_online_features(features=["cart_features:cart_value", "customer_features:orders_lifetime"],
                                         entity_rows=[{"customer_id": "cus_none"}, {"customer_id": "cus_b"},
                                                      {"customer_id": "cus_a"}])
    proto = response.proto
    names = list(proto.metadata.feature_names.val)
    cart_statuses = [s for s in proto.results[names.index("cart_value")].statuses]
    from feast.protos.feast.serving.ServingService_pb2 import FieldStatus

    # cus_b has customer features but no cart: its cart is not found either (Redis keeps both views in one hash)
    assert cart_statuses == [FieldStatus.NOT_FOUND, FieldStatus.NOT_FOUND, FieldStatus.PRESENT]
    orders_statuses = list(proto.results[names.index("orders_lifetime")].statuses)
    assert orders_statuses == [FieldStatus.NOT_FOUND, FieldStatus.PRESENT, FieldStatus.PRESENT]
    assert response.to_dict()["cart_value"] == [None, None, 99.5]
