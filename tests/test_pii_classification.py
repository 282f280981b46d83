"""PII classification in dbt: every documented column whose name looks personal (email, phone,
name, street/address, postcode, ip, cookie id, ...) declares `meta.pii` in its yml, with a known
class; the sources' classes agree with the source contracts; clear text stays in the sources.
Read from the dbt manifest of the checkout (re-parsed when a yml is newer than it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dagster_project import classification
from dagster_project.contracts import CONTRACTS
from dagster_project.defs.project import dbt_project
from conftest import ensure_current_manifest


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    ensure_current_manifest(tmp_path_factory.mktemp("parse") / "data")
    return json.loads(Path(dbt_project.manifest_path).read_text())


def test_every_pii_looking_column_is_classified(manifest):
    assert classification.unclassified_pii_looking_columns(manifest) == [], (
        "tag these columns in their yml: meta: {pii: <class>} (docs/privacy.md), or pii: false if not personal")
    assert classification.unknown_pii_classes(manifest) == {}


def test_the_check_catches_an_untagged_column(manifest):
    """The check itself: a model column named like an email without meta is reported; `pii:
    false` (reviewed, not personal) and a name that only contains a PII word are not."""
    node = {"resource_type": "model", "name": "m", "columns": {
        "contact_email": {"meta": {}}, "shipping_street": {}, "client_ip": {"meta": {"pii": "ip"}},
        "postal_code": {"meta": {"pii": False}}, "product_name": {}, "emails": {}, "email_opens_90d": {}}}
    fake = {"nodes": {"model.x.m": node}, "sources": {}}
    assert classification.unclassified_pii_looking_columns(fake) == ["m.contact_email", "m.shipping_street"]
    node["columns"]["client_ip"]["meta"]["pii"] = "ip_adress"
    assert classification.unknown_pii_classes(fake) == {"m.client_ip": ["ip_adress"]}


def test_sources_classify_what_the_contracts_call_pii(manifest):
    classified = classification.classified_columns(manifest)
    missing = [f"{c.system}.{c.entity}.{col.name}" for c in CONTRACTS for col in c.columns
               if col.pii and not set(classified.get(f"{c.system}.{c.entity}.{col.name}", ()))
               & set(classification.CLEAR_TEXT_CLASSES)]
    assert missing == []
    # the JSON columns carrying an IP and identify traits
    assert classified["web.events.context"] == ["ip"]
    assert classified["web.events.traits"] == ["email", "phone"]
    assert classified["crm.customers.first_name"] == ["name"]
    assert classified["oms.orders.shipping_address"] == ["address"]


def test_clear_text_stays_in_the_sources_and_hashes_are_classified_as_hashes(manifest):
    assert classification.clear_text_in_models(manifest) == []
    classified = classification.classified_columns(manifest)
    hashes = {name: classes for name, classes in classified.items() if name.endswith("_hash")}
    assert {"stg_oms__orders.email_hash", "stg_crm__customers.phone_hash", "stg_web__events.email_hash"} <= set(hashes)
    assert all(set(classes) <= set(classification.HASHED_CLASSES) for classes in hashes.values()), hashes
    # identity stitching keeps hashes and cookie ids in its identifier columns
    assert set(classified["int_identities_stitched.identifier_value"]) == {"email_hash", "phone_hash", "online_id"}
    assert classified["sessions.anonymous_id"] == ["online_id"]
