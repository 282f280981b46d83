"""dbt staging layer: builds a scratch warehouse with the raw tables the contracts define, runs
`dbt build --select staging` against it (models, data tests and unit tests) and checks the
properties staging promises: one row per primary key, hashed identifiers that do not depend on
case or spacing, and no clear-text PII column anywhere in the staging schema."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from conftest import TEST_PII_SALT
from dagster_project.contracts import CONTRACTS, get_contract
from dagster_project.sample_data.worlds import world_settings
from dagster_project.settings import Settings

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt"
from dagster_project.ingestion import METADATA_COLUMNS  # noqa: E402  (the lineage columns ingestion adds)
PII_COLUMN_NAMES = (
    "email", "phone", "first_name", "last_name", "address", "postcode",
    "shipping_address", "shipping_postcode", "ip",
)
DEV_SALT = TEST_PII_SALT  # the salt the tests hash with (explicit: there is no built-in one)


# ---------------------------------------------------------------- scratch raw warehouse

def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create every raw.<system>__<entity> table exactly as ingestion does: the contract
    columns with their DuckDB types plus the lineage columns."""
    con.execute("create schema if not exists raw")
    for contract in CONTRACTS:
        columns = [(c.name, c.type) for c in contract.columns] + list(METADATA_COLUMNS)
        ddl = ", ".join(f'"{name}" {type_}' for name, type_ in columns)
        con.execute(f"create or replace table {contract.raw_table} ({ddl})")


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    """Insert rows given as dicts into raw.<table>. Missing contract columns are null; dict or
    list values are stored as JSON; `_file` (a date) names the landing file, and `_source_line`
    is numbered within each file as ingestion does (CSV data starts at line 2, JSONL at 1)."""
    system, entity = table.split("__", 1)
    contract = get_contract(system, entity)
    names = [c.name for c in contract.columns] + [name for name, _ in METADATA_COLUMNS]
    next_line: dict[str, int] = {}
    loaded_at = datetime(2026, 3, 5, 6, 0, 0)
    for row in rows:
        row = dict(row)
        file_date = row.pop("_file", "2026-03-01")
        source_file = f"landing/{system}/{entity}/{file_date}.{contract.extension}"
        line = next_line.get(source_file, 2 if contract.format == "csv" else 1)
        next_line[source_file] = line + 1
        row.setdefault("_source_file", source_file)
        row.setdefault("_source_line", line)
        row.setdefault("_loaded_at", loaded_at)
        row.setdefault("_delivery_date", date.fromisoformat(file_date))
        unknown = set(row) - set(names)
        assert not unknown, f"{table}: unknown columns {unknown}"
        values = [json.dumps(v) if isinstance(v, (dict, list)) else v for v in (row.get(n) for n in names)]
        placeholders = ", ".join("?" for _ in names)
        quoted = ", ".join(f'"{n}"' for n in names)
        con.execute(f"insert into {contract.raw_table} ({quoted}) values ({placeholders})", values)


def build_raw_warehouse(path: Path, rows_by_table: dict[str, list[dict]]) -> None:
    with duckdb.connect(str(path)) as con:
        create_raw_tables(con)
        for table, rows in rows_by_table.items():
            insert_rows(con, table, rows)


JANE_CHECKOUT_EMAIL = "  Jane.Doe@Mail.DE "
JANE_EMAIL = "jane.doe@mail.de"

SAMPLE_ROWS: dict[str, list[dict]] = {
    "oms__orders": [
        dict(order_id="O-1001", oms_customer_id="C-1", email=JANE_CHECKOUT_EMAIL, phone="+44 (0)20 7946 0018",
             channel="web", cart_id="K-1", ordered_at="2026-03-01 10:15:00", status="placed", currency="GBP",
             subtotal_amount="120.00", discount_amount="10.00", shipping_amount="4.99", tax_amount="19.16",
             total_amount="114.99", shipping_address="1 High Street", shipping_postcode="SW1A 1AA",
             shipping_city=" London ", shipping_country="gb"),
        dict(order_id="O-1002", email="walk-in@mail.de", channel=" STORE ", store_location_id="L-STORE-1",
             ordered_at="2026-03-01 16:40:00", status="delivered", currency="EUR", subtotal_amount="59.90",
             discount_amount="0", shipping_amount="0", tax_amount="9.98", total_amount="59.90",
             shipping_city="Berlin", shipping_country="DE"),
        # The same order in a later file: the OMS corrected its status. The latest file wins.
        dict(order_id="O-1001", oms_customer_id="C-1", email=JANE_CHECKOUT_EMAIL, phone="+44 (0)20 7946 0018",
             channel="web", cart_id="K-1", ordered_at="2026-03-01 10:15:00", status="shipped", currency="GBP",
             subtotal_amount="120.00", discount_amount="10.00", shipping_amount="4.99", tax_amount="19.16",
             total_amount="114.99", shipping_address="1 High Street", shipping_postcode="SW1A 1AA",
             shipping_city="London", shipping_country="GB", _file="2026-03-02"),
    ],
    "oms__order_lines": [
        dict(order_line_id="OL-1001-1", order_id="O-1001", line_number=1, product_id="P-1", quantity=1,
             unit_price="100.00", discount_amount="0"),
        dict(order_line_id="OL-1001-2", order_id="O-1001", line_number=2, product_id="P-2", quantity=2,
             unit_price="10.00", discount_amount="0"),
        dict(order_line_id="OL-1002-1", order_id="O-1002", line_number=1, product_id="P-2", quantity=1,
             unit_price="59.90", discount_amount="0"),
    ],
    "oms__returns": [
        dict(return_id="R-1", order_id="O-1001", order_line_id="OL-1001-2", product_id="P-2", quantity=1,
             reason=" Changed_Mind ", requested_at="2026-03-03 09:00:00", _file="2026-03-03"),
    ],
    "crm__customers": [
        dict(crm_customer_id="CRM-1", oms_customer_id="C-1", email=JANE_EMAIL, phone="020 7946 0018",
             first_name="Jane", last_name="Doe", address="1 High Street", postcode="SW1A 1AA", city="London",
             country="GB", birth_year=1988, created_at="2026-02-01 08:00:00", updated_at="2026-02-01 08:00:00",
             _file="2026-02-01"),
        # Upsert: Jane moved to Manchester; the later updated_at wins.
        dict(crm_customer_id="CRM-1", oms_customer_id="C-1", email=JANE_EMAIL, phone="020 7946 0018",
             first_name="Jane", last_name="Doe", address="2 Low Road", postcode="M1 1AA", city="Manchester",
             country="GB", birth_year=1988, created_at="2026-02-01 08:00:00", updated_at="2026-03-01 12:00:00"),
        # A duplicate record of the same person, email typed differently.
        dict(crm_customer_id="CRM-2", email=" JANE.DOE@mail.de", first_name="J.", last_name="Doe",
             country="gb", created_at="2026-03-01 13:00:00", updated_at="2026-03-01 13:00:00"),
    ],
    "crm__support_tickets": [
        dict(ticket_id="T-1", crm_customer_id="CRM-1", email=JANE_EMAIL, order_id="O-1001", channel="Email",
             topic="delivery", status="solved", priority="normal", satisfaction_score=5,
             created_at="2026-03-02 08:00:00", solved_at="2026-03-02 10:00:00", _file="2026-03-02"),
    ],
    "crm__email_events": [
        dict(email_event_id="EE-1", crm_customer_id="CRM-1", campaign_id="spring-sale", event_type="send",
             occurred_at="2026-03-01 07:00:00"),
        dict(email_event_id="EE-2", crm_customer_id="CRM-1", campaign_id="spring-sale", event_type="CLICK",
             url="https://shop.example.com/sale", occurred_at="2026-03-01 07:30:00"),
    ],
    "crm__marketing_consents": [
        dict(consent_event_id="MC-1", crm_customer_id="CRM-1", channel="email", is_granted=True,
             source="checkout", recorded_at="2026-03-01 10:15:00"),
    ],
    "web__events": [
        dict(message_id="m-1", type="page", anonymous_id="a-1", timestamp="2026-03-01 10:00:00",
             context={"page": {"path": "/p/P-1", "url": "https://shop.example.com/p/P-1", "title": "Headphones",
                               "referrer": "https://www.google.com/"},
                      "device": {"type": "Mobile"}, "user_agent": "Mozilla/5.0", "ip": "203.0.113.7",
                      "campaign": {"source": "google", "medium": "cpc", "name": "spring"}},
             properties={}),
        dict(message_id="m-2", type="track", event="Product Added", anonymous_id="a-1", user_id="C-1",
             timestamp="2026-03-01 10:05:00",
             context={"page": {"path": "/p/P-1"}, "device": {"type": "mobile"}, "ip": "203.0.113.7"},
             properties={"product_id": "P-1", "price": 100, "quantity": 1, "cart_id": "K-1"}),
        # The tracker retried m-2: same message_id, delivered again.
        dict(message_id="m-2", type="track", event="Product Added", anonymous_id="a-1", user_id="C-1",
             timestamp="2026-03-01 10:05:00",
             context={"page": {"path": "/p/P-1"}, "device": {"type": "mobile"}, "ip": "203.0.113.7"},
             properties={"product_id": "P-1", "price": 100, "quantity": 1, "cart_id": "K-1"}),
        dict(message_id="m-3", type="identify", anonymous_id="a-1", user_id="C-1", timestamp="2026-03-01 10:06:00",
             context={"ip": "203.0.113.7"}, traits={"email": JANE_CHECKOUT_EMAIL, "phone": "+44 20 7946 0018"}),
        dict(message_id="m-4", type="track", event="Products Searched", anonymous_id="a-2",
             timestamp="2026-03-01 11:00:00", context={"device": {"type": "desktop"}},
             properties={"query": "  Noise Cancelling "}),
        dict(message_id="m-5", type="track", event="Checkout Step Viewed", anonymous_id="a-1", user_id="C-1",
             timestamp="2026-03-01 10:10:00", context={"app": {"version": "4.2.0"}},
             properties={"step": 2, "cart_id": "K-1", "shipping_amount": "4.99"}),
        dict(message_id="m-6", type="track", event="Order Completed", anonymous_id="a-1", user_id="C-1",
             timestamp="2026-03-01 10:15:00", context={},
             properties={"order_id": "O-1001", "revenue": 114.99, "currency": "gbp", "shipping_amount": 4.99}),
        # A retry that landed in the next day's file as well.
        dict(message_id="m-6", type="track", event="Order Completed", anonymous_id="a-1", user_id="C-1",
             timestamp="2026-03-01 10:15:00", context={},
             properties={"order_id": "O-1001", "revenue": 114.99, "currency": "gbp", "shipping_amount": 4.99},
             _file="2026-03-02"),
    ],
    "pim__products": [
        dict(product_id="P-1", name="Studio Headphones", brand="Acme", category_path="Audio > Headphones > Over-ear",
             price="109.00", cost="40.00", currency="GBP", specs={"driver_mm": 40, "wireless": True},
             is_active=True, launched_at="2025-01-01 00:00:00", updated_at="2026-01-01 00:00:00", _file="2026-01-01"),
        # Upsert: price change.
        dict(product_id="P-1", name="Studio Headphones", brand="Acme", category_path="Audio > Headphones > Over-ear",
             price="100.00", cost="40.00", currency="GBP", specs={"driver_mm": 40, "wireless": True},
             is_active=True, launched_at="2025-01-01 00:00:00", updated_at="2026-02-15 00:00:00", _file="2026-02-15"),
        dict(product_id="P-2", name="Cable", brand="Acme", category_path="Accessories", price="10.00",
             currency="GBP", specs={}, is_active=False, updated_at="2026-01-01 00:00:00", _file="2026-01-01"),
    ],
    "pim__reviews": [
        dict(review_id="RV-1", product_id="P-1", oms_customer_id="C-1", rating=5, title="Great", body="Love them.",
             is_verified_purchase=True, submitted_at="2026-03-04 18:00:00", _file="2026-03-04"),
    ],
    "wms__locations": [
        dict(location_id="L-WH-1", location_type="warehouse", name="Central DC", city="Leeds", country="GB",
             latitude=53.8, longitude=-1.55, is_click_and_collect=False),
        dict(location_id="L-STORE-1", location_type="Store", name="Berlin Mitte", city="Berlin", country="DE",
             latitude=52.52, longitude=13.40, is_click_and_collect=True),
        # The next day's full list: the store was renamed.
        dict(location_id="L-WH-1", location_type="warehouse", name="Central DC", city="Leeds", country="GB",
             latitude=53.8, longitude=-1.55, is_click_and_collect=False, _file="2026-03-02"),
        dict(location_id="L-STORE-1", location_type="store", name="Berlin Mitte Flagship", city="Berlin",
             country="DE", latitude=52.52, longitude=13.40, is_click_and_collect=True, _file="2026-03-02"),
    ],
    "wms__inventory_snapshots": [
        dict(snapshot_date="2026-03-01", product_id="P-1", location_id="L-WH-1", on_hand=12, reserved=2,
             snapshot_at="2026-03-01 23:59:00"),
        dict(snapshot_date="2026-03-01", product_id="P-2", location_id="L-STORE-1", on_hand=3, reserved=0,
             snapshot_at="2026-03-01 23:59:00"),
        dict(snapshot_date="2026-03-02", product_id="P-1", location_id="L-WH-1", on_hand=11, reserved=1,
             snapshot_at="2026-03-02 23:59:00", _file="2026-03-02"),
    ],
    "wms__inbound_shipments": [
        dict(shipment_id="S-1", product_id="P-1", location_id="L-WH-1", quantity=50,
             announced_at="2026-03-01 09:00:00", expected_at="2026-03-08 09:00:00"),
    ],
}


def expected_hash(value: str, salt: str = DEV_SALT) -> str:
    return hashlib.sha256((salt + value.strip().lower()).encode()).hexdigest()


# ---------------------------------------------------------------- the test

# One staging model per contract; the folder may hold more (e.g. product versions), which are
# built and checked for PII too.
STAGING_MODELS = sorted(f"stg_{c.system}__{c.entity}" for c in CONTRACTS)


@pytest.fixture(scope="module")
def staging_warehouse(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("dbt_staging")
    warehouse = tmp / "warehouse.duckdb"
    build_raw_warehouse(warehouse, SAMPLE_ROWS)

    dbt = Path(sys.executable).with_name("dbt")
    env = {
        **os.environ,
        # the sample rows are the demo shop's (national-form German phones): its deployment settings
        **Settings.for_data_dir(tmp, warehouse_path=warehouse, pii_salt=DEV_SALT, **world_settings("default")).env(),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    result = subprocess.run(
        [str(dbt), "build", "--select", "staging",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs"), "--no-partial-parse"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, f"dbt build failed:\n{result.stdout}\n{result.stderr}"
    run_results = json.loads((tmp / "target" / "run_results.json").read_text())
    statuses = {r["unique_id"]: r["status"] for r in run_results["results"]}
    assert statuses and all(s in ("success", "pass") for s in statuses.values()), statuses
    built = {uid.split(".")[-1] for uid in statuses if uid.startswith("model.")}
    assert set(STAGING_MODELS) <= built, sorted(set(STAGING_MODELS) - built)
    assert any(uid.startswith("unit_test.") for uid in statuses), "unit tests did not run"
    return warehouse


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_one_row_per_primary_key(staging_warehouse):
    events = query(staging_warehouse, "select event_id, count(*) from staging.stg_web__events group by 1 order by 1")
    assert events == [(f"m-{i}", 1) for i in range(1, 7)]
    assert query(staging_warehouse, "select count(*) from staging.stg_oms__orders") == [(2,)]
    # Corrections of event rows: the latest file wins.
    assert query(staging_warehouse, "select status from staging.stg_oms__orders where order_id = 'O-1001'") == [("shipped",)]
    # Upserts: the latest updated_at wins.
    assert query(staging_warehouse, "select city from staging.stg_crm__customers where crm_customer_id = 'CRM-1'") == [("Manchester",)]
    assert query(staging_warehouse, "select price from staging.stg_pim__products where product_id = 'P-1'")[0][0] == 100
    # Snapshots: one row per key.
    assert query(staging_warehouse, "select location_name from staging.stg_wms__locations where location_id = 'L-STORE-1'") == [("Berlin Mitte Flagship",)]
    assert query(staging_warehouse, "select count(*) from staging.stg_wms__inventory_snapshots") == [(3,)]


def test_email_hash_ignores_case_and_spaces(staging_warehouse):
    hashes = {
        "oms": query(staging_warehouse, "select email_hash from staging.stg_oms__orders where order_id = 'O-1001'")[0][0],
        "crm-1": query(staging_warehouse, "select email_hash from staging.stg_crm__customers where crm_customer_id = 'CRM-1'")[0][0],
        "crm-2": query(staging_warehouse, "select email_hash from staging.stg_crm__customers where crm_customer_id = 'CRM-2'")[0][0],
        "web": query(staging_warehouse, "select email_hash from staging.stg_web__events where event_id = 'm-3'")[0][0],
    }
    assert set(hashes.values()) == {expected_hash(JANE_EMAIL)}, hashes
    phones = query(staging_warehouse, """
        select (select phone_hash from staging.stg_web__events where event_id = 'm-3'),
               (select phone_hash from staging.stg_crm__customers where crm_customer_id = 'CRM-1')""")[0]
    assert phones[0] is not None and phones[1] is not None


def test_web_events_are_flattened(staging_warehouse):
    rows = query(staging_warehouse, """
        select event_id, event_type, event_name, page_path, device_type, utm_campaign, product_id, price,
               quantity, cart_id, search_query, checkout_step, revenue, currency, app_version, event_at
        from staging.stg_web__events order by event_id""")
    by_id = {r[0]: r for r in rows}
    assert by_id["m-1"][1:6] == ("page", "Page Viewed", "/p/P-1", "mobile", "spring")
    assert by_id["m-2"][6:10] == ("P-1", 100, 1, "K-1")
    assert by_id["m-4"][10] == "noise cancelling"
    assert by_id["m-5"][11] == 2 and by_id["m-5"][14] == "4.2.0"
    assert by_id["m-6"][12:14] == (Decimal("114.99"), "GBP")
    assert by_id["m-3"][2] is None
    assert by_id["m-1"][15] == datetime(2026, 3, 1, 10, 0, 0)


def test_no_clear_text_pii_in_staging(staging_warehouse):
    columns = query(staging_warehouse, """
        select table_name, column_name from information_schema.columns
        where table_schema = 'staging'""")
    tables = {t for t, _ in columns}
    assert set(STAGING_MODELS) <= tables
    leaked = [(t, c) for t, c in columns if c.lower() in PII_COLUMN_NAMES]
    assert leaked == []
    # Nor any raw JSON object that could carry context.ip or traits.email.
    assert not [(t, c) for t, c in columns if t == "stg_web__events" and c in ("context", "traits")]
    # And no clear-text email value anywhere in staging.
    with duckdb.connect(str(staging_warehouse), read_only=True) as con:
        for table in sorted(tables):
            text = " ".join(str(row) for row in con.execute(f"select * from staging.{table}").fetchall()).lower()
            assert "jane.doe@mail.de" not in text and "203.0.113.7" not in text, table
