"""Consent at read time, over real HTTP on SQLite and Redis: a customer who withdraws
personalization consent gets the personalization features withheld (null, status
CONSENT_WITHDRAWN, named in metadata.consent) while product features stay served; after opting
in again (a new consent row materialized) the same read serves them. A request's `channel`
carries each customer's consent for it; a bad channel is a 422. Never-recorded consent follows
the consent_never_recorded setting."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import REQUIRE_SERVICES, SERVICE_REDIS_URL, _redis_available
from test_serving_support import FRESH, NOW, build_served_world, column, post, running_server

OPTED_IN, OPTED_OUT, OPTED_IN_AGAIN = NOW - timedelta(days=10), NOW - timedelta(days=5), NOW - timedelta(hours=1)
ROWS = ["cus_a", "cus_b", "cus_c"]  # a withdraws personalization; b consents; c has no consent row
V1 = {"feature_service": "personalization_v1",
      "entities": {"customer_id": ROWS, "product_id": ["SKU-1"] * 3}}


def consent_table(rows: list[tuple]) -> pa.Table:
    """customer_consent_features rows: (customer, event time, email, sms, personalization), each
    consent as of the row's time (None: never recorded)."""
    columns: dict[str, list] = {"customer_id": [r[0] for r in rows], "event_timestamp": [r[1] for r in rows]}
    for n, channel in enumerate(("email", "sms", "personalization")):
        columns[f"{channel}_consent"] = [r[2 + n] for r in rows]
        columns[f"{channel}_consent_as_of"] = [None if r[2 + n] is None else r[1] for r in rows]
    stamp = pa.timestamp("us", tz="UTC")
    return pa.table(columns, schema=pa.schema(
        [("customer_id", pa.string()), ("event_timestamp", stamp)]
        + [(name, pa.bool_() if name.endswith("_consent") else stamp) for name in list(columns)[2:]]))


def profile_table() -> pa.Table:
    """customer_profile_features for the three customers: every field of the view, the numbers 1."""
    from feast.types import Bool, Float64, Int64, String, UnixTimestamp

    from feature_repo.personalization import customer_profile_features

    kinds = {Int64: (pa.int64(), 1), Float64: (pa.float64(), 1.0), String: (pa.string(), "x"),
             Bool: (pa.bool_(), True), UnixTimestamp: (pa.timestamp("us", tz="UTC"), FRESH)}
    fields = [("customer_id", pa.string(), ROWS), ("event_timestamp", pa.timestamp("us", tz="UTC"), [FRESH] * 3)]
    fields += [(f.name, kinds[f.dtype][0], [kinds[f.dtype][1]] * 3) for f in customer_profile_features.schema]
    return pa.table({name: values for name, _, values in fields}, schema=pa.schema([(n, t) for n, t, _ in fields]))


HISTORY = [("cus_a", OPTED_IN, True, None, True), ("cus_a", OPTED_OUT, True, None, False),
           ("cus_b", OPTED_IN, False, True, True)]


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def served(request, tmp_path_factory):
    redis_url = None
    if request.param == "redis":
        problem = _redis_available(SERVICE_REDIS_URL)
        if problem:
            if REQUIRE_SERVICES:
                pytest.fail(f"{problem}; REQUIRE_SERVICES=1 makes it mandatory")
            pytest.skip(problem)
        redis_url = SERVICE_REDIS_URL
    settings = build_served_world(tmp_path_factory.mktemp(f"consent_{request.param}"), request.param, redis_url,
                                  tables={"customer_consent_features": consent_table(HISTORY),
                                          "customer_profile_features": profile_table()})
    with running_server(settings) as port:
        yield settings, port


def _opt_in_again(settings) -> None:
    from dagster_project.feast_ext.publish import materialize_view

    rows = [*HISTORY, ("cus_a", OPTED_IN_AGAIN, True, None, True)]
    pq.write_table(consent_table(rows), settings.features_dir / "customer_consent_features.parquet")
    materialize_view(settings, "customer_consent_features")


def _withdrawal_and_opt_in(settings, port) -> None:
    status, answer = post(port, "/get-online-features", V1)
    assert status == 200, answer
    orders = column(answer, "orders_lifetime")
    assert orders["values"] == [None, 2, 3] and orders["statuses"] == ["CONSENT_WITHDRAWN", "PRESENT", "PRESENT"]
    assert orders["event_timestamps"][0] == "1970-01-01T00:00:00Z"
    # the candidate product is no personal data: served for everyone
    assert column(answer, "price")["statuses"] == ["PRESENT"] * 3
    block = answer["metadata"]["consent"]["personalization"]
    assert block["consent"] == [False, True, None] and block["allowed"] == [False, True, True]
    assert block["reason"] == ["CONSENT_WITHDRAWN", None, "CONSENT_NOT_RECORDED"]
    assert block["as_of"][:2] == [OPTED_OUT.strftime("%Y-%m-%dT%H:%M:%SZ"), OPTED_IN.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert block["withheld_customers"] == ["cus_a"] and "orders_lifetime" in block["withheld_features"]
    assert "price" not in block["withheld_features"]
    # a view tagged requires_consent is withheld however it is asked for
    status, answer = post(port, "/get-online-features", {
        "features": ["customer_profile_features:orders_30d", "customer_features:orders_lifetime"],
        "entities": {"customer_id": ROWS}})
    assert status == 200, answer
    assert column(answer, "orders_30d")["statuses"] == ["CONSENT_WITHDRAWN", "PRESENT", "PRESENT"]
    assert column(answer, "orders_lifetime")["values"] == [1, 2, 3]  # customer_features alone needs no consent

    _opt_in_again(settings)
    status, answer = post(port, "/get-online-features", V1)
    assert status == 200
    assert column(answer, "orders_lifetime")["values"] == [1, 2, 3]
    assert column(answer, "orders_lifetime")["statuses"] == ["PRESENT"] * 3
    assert answer["metadata"]["consent"]["personalization"]["withheld_customers"] == []
    assert answer["metadata"]["consent"]["personalization"]["as_of"][0] == OPTED_IN_AGAIN.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_withdrawn_consent_withholds_personalization_until_the_opt_in(served):
    settings, port = served
    try:
        _withdrawal_and_opt_in(settings, port)
    finally:  # the module's other tests read the withdrawal
        pq.write_table(consent_table(HISTORY), settings.features_dir / "customer_consent_features.parquet")
        from dagster_project.feast_ext.publish import materialize_view

        materialize_view(settings, "customer_consent_features")


def test_a_channel_request_carries_each_customers_consent_for_it(served):
    _, port = served
    status, answer = post(port, "/get-online-features", {**V1, "channel": "email"})
    assert status == 200, answer
    email = answer["metadata"]["consent"]["email"]
    assert email["consent"] == [True, False, None] and email["allowed"] == [True, False, True]
    assert email["reason"] == [None, "CONSENT_WITHDRAWN", "CONSENT_NOT_RECORDED"]
    assert email["withheld_features"] == [] and email["withheld_customers"] == []  # told, not withheld
    # a product-only read for an SMS send: customer_id rides along for the consent
    status, answer = post(port, "/get-online-features", {
        "features": ["product_features:price"], "channel": "sms",
        "entities": {"product_id": ["SKU-1", "SKU-2"], "customer_id": ["cus_a", "cus_b"]}})
    assert status == 200, answer
    assert answer["metadata"]["consent"]["sms"]["consent"] == [None, True]
    assert column(answer, "price")["statuses"] == ["PRESENT", "PRESENT"]


@pytest.mark.parametrize("channel", ["fax", 5, "", None, ["email"]])
def test_a_bad_channel_is_a_422(served, channel):
    _, port = served
    body = {**V1, "channel": channel}
    status, answer = post(port, "/get-online-features", body)
    if channel is None:  # null is "no channel"
        assert status == 200 and "email" not in answer["metadata"]["consent"]
        return
    assert status == 422 and "channel must be one of email, sms, personalization" in answer["detail"]
    status, answer = post(port, "/context", body)
    assert status == 422


ON_DEMAND = ("hours_since_last_session", "price_vs_typical_price", "cart_value_vs_typical_order")


def test_on_demand_views_are_computed_as_feast_computes_them(served):
    """personalization_v2 has three on-demand views (python mode): computed per request from the
    stored features they read and the request's `request_time`, equal to Feast's own computation
    of the same rows; withheld with the customer's consent like the stored features they read."""
    from dagster_project.feast_ext.repo import get_feature_store

    settings, port = served
    asked_at = int(NOW.timestamp())
    body = {"feature_service": "personalization_v2", "include_age": True,
            "entities": {"customer_id": ROWS, "product_id": ["SKU-1"] * 3, "request_time": [asked_at] * 3}}
    status, answer = post(port, "/get-online-features", body)
    assert status == 200, answer
    names = answer["metadata"]["feature_names"]
    assert names[:2] == ["customer_id", "product_id"] and "request_time" not in names  # request data is not answered
    recency, price_ratio, cart_ratio = (column(answer, name) for name in ON_DEMAND)
    # cus_a withdrew personalization consent (the views are tagged with it); b and c are served
    assert recency["statuses"] == ["CONSENT_WITHDRAWN", "PRESENT", "PRESENT"] and recency["values"][0] is None
    assert recency["values"][1:] == [24.0, 24.0]  # the last session is a day before the request
    assert price_ratio["values"][1:] == [10.25, 10.25]  # price 10.25 / typical price 1.0
    # no cart for b and c: the transformation returns null
    assert cart_ratio["values"][1:] == [None, None] and cart_ratio["statuses"][1:] == ["NULL_VALUE", "NULL_VALUE"]
    # as of the stalest stored input: the profile, product and cart rows are all a day old
    assert recency["event_timestamps"][1] == FRESH.strftime("%Y-%m-%dT%H:%M:%SZ")
    # the age counts to the server's clock (the module's NOW is when it was imported)
    assert 86_400 <= recency["ages_seconds"][1] <= (datetime.now(timezone.utc) - FRESH).total_seconds() + 1

    # Feast's own computation of the same rows (its SDK does not apply consent: compare b and c)
    feast_rows = get_feature_store(settings).get_online_features(
        features=get_feature_store(settings).get_feature_service("personalization_v2"),
        entity_rows=[{"customer_id": c, "product_id": "SKU-1", "request_time": NOW} for c in ROWS]).to_dict()
    for name in ON_DEMAND:
        ours, theirs = column(answer, name)["values"][1:], feast_rows[name][1:]
        assert [None if v is None or v != v else pytest.approx(v) for v in theirs] == ours, name

    # the context names what a computed fact was computed from
    status, context = post(port, "/context", body)
    assert status == 200, context
    fact = {f["name"]: f for f in context["contexts"][1]["facts"]}["price_vs_typical_price"]
    assert fact["dbt_model"] is None and fact["value"] == 10.25
    assert fact["computed_from"] == ["customer_profile_features:price_band_median", "product_features:price"]


@pytest.mark.parametrize("request_time, message", [
    (None, "missing column(s) request_time"),
    (["yesterday"], "is not an ISO 8601 time"),
    ([True], "must be unix_timestamp or null"),
    ([1e30], "out of range"),
])
def test_a_bad_request_field_of_an_on_demand_view_is_a_422(served, request_time, message):
    _, port = served
    entities = {"customer_id": ["cus_b"], "product_id": ["SKU-1"]}
    if request_time is not None:
        entities["request_time"] = request_time
    status, answer = post(port, "/get-online-features", {"feature_service": "personalization_v2", "entities": entities})
    assert status == 422 and message in answer["detail"], answer
    # an ISO 8601 time is a request time too
    entities["request_time"] = [NOW.isoformat()]
    status, answer = post(port, "/get-online-features", {"feature_service": "personalization_v2", "entities": entities})
    assert status == 200 and column(answer, "hours_since_last_session")["values"] == [24.0], answer


def test_context_facts_are_withheld_with_the_consent_in_force(served):
    _, port = served
    status, answer = post(port, "/context", {**V1, "channel": "email"})
    assert status == 200, answer
    first, second = answer["contexts"][0], answer["contexts"][1]
    facts = {f["name"]: f for f in first["facts"]}
    assert facts["orders_lifetime"]["value"] is None and facts["orders_lifetime"]["status"] == "CONSENT_WITHDRAWN"
    assert facts["orders_lifetime"]["as_of"] is None and facts["price"]["status"] == "PRESENT"
    assert first["consent"]["personalization"] == {"consent": False, "as_of": OPTED_OUT.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                                   "allowed": False, "reason": "CONSENT_WITHDRAWN"}
    assert first["consent"]["email"]["allowed"] is True
    assert {f["name"]: f for f in second["facts"]}["orders_lifetime"]["status"] == "PRESENT"


def test_never_recorded_consent_follows_the_setting(served):
    settings, _ = served
    with running_server(dataclasses.replace(settings, consent_never_recorded="withdrawn")) as port:
        status, answer = post(port, "/get-online-features", V1)
    assert status == 200
    assert column(answer, "orders_lifetime")["statuses"] == ["CONSENT_WITHDRAWN", "PRESENT", "CONSENT_NOT_RECORDED"]
    assert answer["metadata"]["consent"]["personalization"]["withheld_customers"] == ["cus_a", "cus_c"]
