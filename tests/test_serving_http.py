"""The project's online feature server over real HTTP (uvicorn on a loopback port): Feast's
response shape and values, and a clear 4xx with a JSON message for every kind of bad request."""

from __future__ import annotations

import http.client
import json

import pytest

from dagster_project.serving.request import Limits
from test_serving_support import CUSTOMERS, build_served_world, column, post, running_server

SERVICE_BODY = {"feature_service": "personalization_v1",
                "entities": {"customer_id": ["cus_a"], "product_id": ["SKU-1"]}}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    settings = build_served_world(tmp_path_factory.mktemp("served"))
    limits = Limits(max_body_bytes=64_000, max_entities=50, max_id_length=40, max_features=100)
    with running_server(settings, limits=limits) as port:
        yield settings, port


def test_values_equal_feast_sdk_for_a_service(served):
    from dagster_project.feast_ext.repo import get_feature_store

    settings, port = served
    status, answer = post(port, "/get-online-features", SERVICE_BODY)
    assert status == 200
    store = get_feature_store(settings)
    expected = store.get_online_features(features=store.get_feature_service("personalization_v1"),
                                         entity_rows=[{"customer_id": "cus_a", "product_id": "SKU-1"}]).to_dict()
    names = answer["metadata"]["feature_names"]
    assert names[:2] == ["customer_id", "product_id"]
    assert sorted(names) == sorted(expected)
    for name in names:
        assert column(answer, name)["values"] == expected[name], name
    assert set(column(answer, "price")["statuses"]) == {"PRESENT"}
    assert column(answer, "price")["event_timestamps"][0].endswith("Z")


def test_feature_refs_with_full_names_and_many_entities(served):
    _, port = served
    status, answer = post(port, "/get-online-features", {
        "features": ["customer_features:orders_lifetime", "customer_features:favourite_category"],
        "entities": {"customer_id": CUSTOMERS * 10}, "full_feature_names": True})
    assert status == 200
    assert answer["metadata"]["feature_names"] == ["customer_id", "customer_features__orders_lifetime",
                                                   "customer_features__favourite_category"]
    assert column(answer, "customer_features__orders_lifetime")["values"] == [1, 2, 3] * 10
    # a stored null is served as a null value, not as a present one
    assert column(answer, "customer_features__favourite_category")["statuses"][:3] == ["PRESENT", "PRESENT", "NULL_VALUE"]


def _raw(port: int, method: str, path: str, body: bytes, headers: dict) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers, encode_chunked=True)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


BAD_READS = {
    "unknown feature": ({"features": ["customer_features:nope"], "entities": {"customer_id": ["cus_a"]}},
                        422, "unknown feature"),
    "unknown view": ({"features": ["nope:orders_lifetime"], "entities": {"customer_id": ["cus_a"]}},
                     422, "unknown feature view"),
    "unknown service": ({"feature_service": "nope_v9", "entities": {"customer_id": ["cus_a"]}},
                        422, "unknown feature service"),
    "int for a string key": ({"features": ["customer_features:orders_lifetime"], "entities": {"customer_id": [42]}},
                             422, "must be a string"),
    "missing join key": (SERVICE_BODY | {"entities": {"customer_id": ["cus_a"]}}, 422, "missing column(s) product_id"),
    "misspelled join key": ({"features": ["customer_features:orders_lifetime"], "entities": {"customerid": ["cus_a"]}},
                            422, "unknown column"),
    "unequal lists": (SERVICE_BODY | {"entities": {"customer_id": ["cus_a", "cus_b"], "product_id": ["SKU-1"]}},
                      422, "different lengths"),
    "empty lists": (SERVICE_BODY | {"entities": {"customer_id": [], "product_id": []}}, 422, "empty"),
    "entities {}": (SERVICE_BODY | {"entities": {}}, 422, "non-empty object"),
    "null id": ({"features": ["customer_features:orders_lifetime"], "entities": {"customer_id": [None]}},
                422, "must be a string"),
    "no features": ({"entities": {"customer_id": ["cus_a"]}}, 422, "features must be"),
    "bad max age": (SERVICE_BODY | {"max_age_seconds": -1}, 422, "max_age_seconds"),
    "unknown field": (SERVICE_BODY | {"entitiez": {}}, 422, "unknown field"),
    "not an object": ([1, 2], 422, "JSON object"),
    "too many entities": ({"features": ["customer_features:orders_lifetime"],
                           "entities": {"customer_id": ["cus_a"] * 51}}, 413, "limit is 50"),
}


@pytest.mark.parametrize("case", sorted(BAD_READS))
def test_bad_read_requests_get_a_clear_4xx(served, case):
    _, port = served
    body, status, message = BAD_READS[case]
    got, answer = post(port, "/get-online-features", body)
    assert got == status, answer
    assert message in answer["detail"]


def test_long_ids_are_refused_and_never_echoed(served):
    _, port = served
    secret = "x" * 39 + "SECRET-ID-" + "y" * 20
    got, answer = post(port, "/get-online-features", {"features": ["customer_features:orders_lifetime"],
                                                      "entities": {"customer_id": [secret]}})
    assert got == 422 and "longer than 40" in answer["detail"]
    assert "SECRET" not in json.dumps(answer)
    got, answer = post(port, "/get-online-features", {"features": ["customer_features:orders_lifetime"],
                                                      "entities": {"customer_id": [1234567]}})
    assert got == 422 and "1234567" not in json.dumps(answer)


def test_transport_level_problems_get_a_clear_4xx(served):
    _, port = served
    body = json.dumps(SERVICE_BODY).encode()
    assert post(port, "/get-online-features", b"{not json", content_type="application/json")[0] == 400
    status, answer = post(port, "/get-online-features", body, content_type="text/plain")
    assert status == 415 and "Content-Type" in answer["detail"]
    status, answer = post(port, "/get-online-features", body, content_type="")
    assert status == 415
    big = json.dumps(SERVICE_BODY | {"pad": "x" * 70_000}).encode()
    status, answer = post(port, "/get-online-features", big)
    assert status == 413 and "64000" in answer["detail"]
    # a body larger than it claims is cut off at the limit too (chunked, no Content-Length)
    status, answer = _raw(port, "POST", "/get-online-features", iter([big[:40_000], big[40_000:]]),
                          {"Content-Type": "application/json"})
    assert status == 413
    # the server still answers after all of that
    assert post(port, "/get-online-features", SERVICE_BODY)[0] == 200


BAD_PUSHES = {
    "unknown source": ({"push_source_name": "nope", "df": {}}, 422, "unknown push source"),
    "df not an object": ({"push_source_name": "cart_features_push", "df": [1]}, 422, "non-empty object"),
    "missing columns": ({"push_source_name": "cart_features_push", "df": {"customer_id": ["cus_a"]}},
                        422, "missing column(s)"),
    "bad timestamp": ({"push_source_name": "cart_features_push", "df": {}}, 422, "ISO 8601"),
    "wrong value type": ({"push_source_name": "cart_features_push", "df": {}}, 422, "df.cart_items[0] must be"),
    "bad target": ({"push_source_name": "cart_features_push", "df": {}, "to": "somewhere"}, 422, "to must be"),
}


def _cart_df(**changes) -> dict:
    df = {"customer_id": ["cus_b"], "event_timestamp": ["2026-11-29T10:00:00Z"], "cart_id": ["cart_9"],
          "cart_value": [12.5], "cart_items": [1], "cart_checkout_step": [2], "cart_shipping_amount_seen": [4.99],
          "cart_ordered": [False], "cart_device": ["desktop"]}
    df.update(changes)
    return df


@pytest.mark.parametrize("case", sorted(BAD_PUSHES))
def test_malformed_pushes_get_a_clear_4xx(served, case):
    _, port = served
    body, status, message = BAD_PUSHES[case]
    if case == "bad timestamp":
        body = body | {"df": _cart_df(event_timestamp=["yesterday"])}
    elif case == "wrong value type":
        body = body | {"df": _cart_df(cart_items=["two"])}
    elif case == "bad target":
        body = body | {"df": _cart_df()}
    got, answer = post(port, "/push", body)
    assert got == status, answer
    assert message in answer["detail"]


def test_a_valid_push_is_served_at_once(served):
    from datetime import datetime, timezone

    _, port = served
    now = datetime.now(timezone.utc).isoformat()
    status, answer = post(port, "/push", {"push_source_name": "cart_features_push",
                                          "df": _cart_df(event_timestamp=[now], cart_value=[77.25])})
    assert status == 200, answer
    status, answer = post(port, "/get-online-features", {"features": ["cart_features:cart_value"],
                                                         "entities": {"customer_id": ["cus_b"]}})
    assert status == 200 and column(answer, "cart_value")["values"] == [77.25]


def test_pushes_for_a_forgotten_person_are_dropped_and_counted(served):
    """After `rcl forget` put a customer on the suppression list, a running server drops that
    customer's pushed rows (counted in the answer) and keeps serving the others'."""
    from datetime import datetime, timezone

    from dagster_project.privacy.pushes import id_hash
    from dagster_project.privacy.suppression import Entry, add_entries

    settings, port = served
    before = column(post(port, "/get-online-features", {"features": ["cart_features:cart_value"],
                                                        "entities": {"customer_id": ["cus_c"]}})[1], "cart_value")["values"]
    add_entries(settings, {Entry("customer_id", id_hash(settings.pii_salt, "customer_id", "cus_c"))}, "REQ-push")
    now = datetime.now(timezone.utc).isoformat()
    body = {"push_source_name": "cart_features_push",
            "df": _cart_df(customer_id=["cus_c", "cus_a"], event_timestamp=[now, now], cart_id=["cart_c", "cart_a"],
                           cart_value=[999.0, 55.5], cart_items=[1, 2], cart_checkout_step=[2, 2],
                           cart_shipping_amount_seen=[4.99, 4.99], cart_ordered=[False, False],
                           cart_device=["desktop", "mobile"])}
    status, answer = post(port, "/push", body)
    assert (status, answer) == (200, {"pushed": 1, "suppressed": 1})
    status, answer = post(port, "/get-online-features", {"features": ["cart_features:cart_value"],
                                                         "entities": {"customer_id": ["cus_c", "cus_a"]}})
    assert status == 200 and column(answer, "cart_value")["values"] == [before[0], 55.5]
    alone = {**body, "df": {name: values[:1] for name, values in body["df"].items()}}
    assert post(port, "/push", alone) == (200, {"pushed": 0, "suppressed": 1})
