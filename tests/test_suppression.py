"""Ingestion's suppress step on its own (fast tier): rows that name a person on the suppression
list (by any identifier column, a clear-text email or phone typed another way, or an identifier
inside a JSON column) are dropped before any check, counted as suppressed per file, and the
reconciliation still holds; without a list nothing changes; a list hashed with another salt fails
the load instead of letting everyone in."""

from __future__ import annotations

import json

import duckdb
import pytest

from dagster_project.contracts import get_contract
from dagster_project.ingestion import ingest_entity
from dagster_project.pii_salt import with_pii_salt
from dagster_project.privacy.identifiers import hash_identifier
from dagster_project.privacy.suppression import Entry, SuppressionListStale, add_entries
from dagster_project.settings import Settings

ORDERS_HEADER = ("order_id,oms_customer_id,email,phone,channel,store_location_id,cart_id,ordered_at,status,delivered_at,"
                 "currency,subtotal_amount,discount_amount,shipping_amount,tax_amount,total_amount,shipping_address,"
                 "shipping_postcode,shipping_city,shipping_region,shipping_country\n")


def _order(order_id, account="", email="", phone="", total="10.00"):
    return (f"{order_id},{account},{email},{phone},web,,,2026-01-02T10:00:00Z,placed,,EUR,10.00,0.00,0.00,1.60,"
            f"{total},Street 1,10115,Berlin,,DE\n")


@pytest.fixture
def settings(tmp_path):
    # the data dir's own salt, as a run resolves it when RCL_PII_SALT is unset
    return with_pii_salt(Settings.for_data_dir(tmp_path / "data", phone_country_code="49", phone_trunk_prefix="0"))


def _suppress(settings, kind, value):
    with duckdb.connect() as conn:
        digest = hash_identifier(conn, kind, value, settings)
    add_entries(settings, {Entry(kind, digest)}, "REQ-1")


def test_the_rows_of_a_suppressed_person_are_dropped_and_counted(settings, tmp_path):
    landing = settings.landing_dir
    (landing / "oms" / "orders").mkdir(parents=True)
    (landing / "oms" / "orders" / "2026-01-02.csv").write_text(
        ORDERS_HEADER
        + _order("O1", email="Ann.Other@mail.de")
        + _order("O2", email="  forget.me@MAIL.de ")      # her email, typed another way
        + _order("O3", phone="0171 5550123")               # her phone, national form
        + _order("O4", account="OC-HER", total="x")        # her account, a row that would be quarantined
        + _order("O5", email="bob@mail.de", total="y"))    # someone else's bad row: quarantined
    _suppress(settings, "email_hash", "forget.me@mail.de")
    _suppress(settings, "phone_hash", "+49 171 5550123")
    _suppress(settings, "oms_customer_id", "OC-HER")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        result = ingest_entity(conn, get_contract("oms", "orders"), landing, settings=settings)
        assert (result.rows_read, result.rows_loaded, result.rows_quarantined, result.rows_suppressed) == (5, 1, 1, 3)
        assert result.is_reconciled
        assert conn.execute("select order_id from raw.oms__orders").fetchall() == [("O1",)]
        assert conn.execute("select rows_read, rows_loaded, rows_quarantined, rows_suppressed, is_reconciled "
                            "from raw.oms__orders__reconciliation").fetchall() == [(5, 1, 1, 3, True)]
        # a partial load of the same file replaces its rows and counts the same
        again = ingest_entity(conn, get_contract("oms", "orders"), landing, settings=settings,
                              files=[landing / "oms" / "orders" / "2026-01-02.csv"])
        assert (again.rows_read, again.rows_loaded, again.rows_suppressed) == (5, 1, 3) and again.is_reconciled


def test_identifiers_inside_json_columns_are_suppressed(settings, tmp_path):
    landing = settings.landing_dir
    events = [
        {"message_id": "m1", "type": "identify", "anonymous_id": "a-new-browser", "timestamp": "2026-01-01T10:00:00Z",
         "context": {"page": {"path": "/"}}, "traits": {"email": "Forget.Me@mail.de"}},
        {"message_id": "m2", "type": "page", "anonymous_id": "a-someone-else", "timestamp": "2026-01-01T10:00:00Z",
         "context": {"page": {"path": "/"}}},
    ]
    path = landing / "web" / "events" / "2026-01-01.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    _suppress(settings, "email_hash", "forget.me@mail.de")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        result = ingest_entity(conn, get_contract("web", "events"), landing, settings=settings)
        assert (result.rows_read, result.rows_loaded, result.rows_suppressed) == (2, 1, 1)
        assert conn.execute("select message_id from raw.web__events").fetchall() == [("m2",)]


def test_without_a_list_nothing_is_suppressed(settings, tmp_path):
    landing = settings.landing_dir
    (landing / "oms" / "orders").mkdir(parents=True)
    (landing / "oms" / "orders" / "2026-01-02.csv").write_text(ORDERS_HEADER + _order("O1", email="a@mail.de"))
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        result = ingest_entity(conn, get_contract("oms", "orders"), landing, settings=settings)
    assert (result.rows_read, result.rows_loaded, result.rows_suppressed) == (1, 1, 0)


def test_a_list_hashed_with_another_salt_fails_the_load(settings, tmp_path):
    landing = settings.landing_dir
    (landing / "oms" / "orders").mkdir(parents=True)
    (landing / "oms" / "orders" / "2026-01-02.csv").write_text(ORDERS_HEADER + _order("O1", email="a@mail.de"))
    _suppress(settings, "email_hash", "forget.me@mail.de")
    rotated = Settings.for_data_dir(settings.data_dir, pii_salt="another-salt")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn, pytest.raises(SuppressionListStale, match="another RCL_PII_SALT"):
        ingest_entity(conn, get_contract("oms", "orders"), landing, settings=rotated)


@pytest.mark.parametrize("kind, value", [("customer_id", "cus_0f44d364b0ba06e9"), ("cart_id", " ct_12d39cbf4f "),
                                         ("anonymous_id", "ä-cookie-1")])
def test_the_push_guard_hashes_ids_as_the_list_does(settings, kind, value):
    from dagster_project.privacy.pushes import id_hash

    with duckdb.connect() as conn:
        assert id_hash(settings.pii_salt, kind, value) == hash_identifier(conn, kind, value, settings)
