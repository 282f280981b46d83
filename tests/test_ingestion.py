"""Ingestion enforces the contracts: good rows land typed, bad rows are quarantined with file,
line and reason, a missing required column fails with a message naming file and column, and a
re-run replaces rather than duplicates."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from dagster_project.contracts import get_contract
from dagster_project.ingestion import ContractViolation, DeliveriesMissing, ingest_entity


@pytest.fixture
def conn(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as c:
        yield c


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_csv_rows_are_typed_or_quarantined_with_file_line_and_reason(conn, tmp_path):
    landing = tmp_path / "landing"
    f = _write(
        landing / "oms" / "order_lines" / "2026-01-02.csv",
        "order_line_id,order_id,line_number,product_id,quantity,unit_price,discount_amount\n"
        "L1,O1,1,P1,2,10.50,0\n"
        "L2,O1,2,P2,-1,10.50,0\n"
        "L3,,1,P2,1,€12,0\n",
    )
    result = ingest_entity(conn, get_contract("oms", "order_lines"), landing)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 1, 2)
    assert result.is_reconciled
    assert conn.execute("select order_line_id, quantity, unit_price, _source_line from raw.oms__order_lines").fetchall() == [
        ("L1", 2, Decimal("10.50"), 2)
    ]
    quarantined = conn.execute(
        "select _source_file, _source_line, reason from raw.oms__order_lines__quarantine order by _source_line"
    ).fetchall()
    assert quarantined[0][0] == str(f)
    assert quarantined[0][1:] == (3, "quantity: -1 is below 1")
    assert quarantined[1][1] == 4
    assert "missing required order_id" in quarantined[1][2]
    assert "unit_price: €12 is not a valid DECIMAL(12,2)" in quarantined[1][2]


def test_jsonl_broken_lines_naive_timestamps_and_offsets(conn, tmp_path):
    landing = tmp_path / "landing"
    good = {"message_id": "m1", "type": "page", "anonymous_id": "a1", "timestamp": "2026-01-01T11:00:00+01:00",
            "context": {"page": {"path": "/"}}}
    naive = dict(good, message_id="m2", timestamp="2026-01-01 10:00:00")
    bad_event = dict(good, message_id="m3", type="track", event="Teleported")
    _write(landing / "web" / "events" / "2026-01-01.jsonl",
           "\n".join([json.dumps(good), json.dumps(naive), "{not json", json.dumps(bad_event), '["an array"]']) + "\n")
    result = ingest_entity(conn, get_contract("web", "events"), landing)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (5, 1, 4)
    ts, context = conn.execute("select timestamp, context->>'$.page.path' from raw.web__events").fetchone()
    assert str(ts) == "2026-01-01 10:00:00"  # converted to UTC
    assert context == "/"
    reasons = dict(conn.execute("select _source_line, reason from raw.web__events__quarantine").fetchall())
    assert "not an ISO 8601 timestamp with offset" in reasons[2]
    assert reasons[3] == "line is not a JSON object"
    assert reasons[4] == "event: Teleported is not an accepted value"
    assert reasons[5] == "line is not a JSON object"


def test_missing_required_column_names_file_and_column(conn, tmp_path):
    landing = tmp_path / "landing"
    f = _write(landing / "wms" / "locations" / "2026-01-01.csv",
               "location_id,location_type,name,latitude\nW1,warehouse,Main,52.5\n")
    with pytest.raises(ContractViolation) as err:
        ingest_entity(conn, get_contract("wms", "locations"), landing)
    assert str(f) in str(err.value)
    for column in ("city", "country", "is_click_and_collect"):
        assert column in str(err.value)
    assert "longitude" not in str(err.value).split("missing")[0]  # optional since coordinates may be unknown


def test_rerun_replaces_instead_of_duplicating(conn, tmp_path):
    landing = tmp_path / "landing"
    _write(landing / "crm" / "email_events" / "2026-01-01.csv",
           "email_event_id,crm_customer_id,campaign_id,event_type,url,occurred_at\n"
           "E1,C1,K1,send,,2026-01-01T08:00:00Z\nE2,C1,K1,open,,2026-01-01T09:00:00Z\n")
    contract = get_contract("crm", "email_events")
    for _ in range(3):
        result = ingest_entity(conn, contract, landing)
    assert result.rows_loaded == 2
    assert conn.execute("select count(*) from raw.crm__email_events").fetchone()[0] == 2


def test_an_empty_landing_folder_gives_empty_tables(conn, tmp_path):
    (tmp_path / "landing" / "wms" / "inbound_shipments").mkdir(parents=True)
    result = ingest_entity(conn, get_contract("wms", "inbound_shipments"), tmp_path / "landing")
    assert result.rows_read == 0 and result.is_reconciled
    assert conn.execute("select count(*) from raw.wms__inbound_shipments").fetchone()[0] == 0


def test_unparseable_csv_lines_are_quarantined_and_later_lines_keep_their_numbers(conn, tmp_path):
    landing = tmp_path / "landing"
    _write(
        landing / "oms" / "order_lines" / "2026-01-03.csv",
        "order_line_id,order_id,line_number,product_id,quantity,unit_price,discount_amount\n"
        "L1,O1,1,P1,2,10.50,0\n"
        "L2,O1,2,P2\n"
        "L3,O1,3,P3,1,5.00,0\n"
        "L4,O1,4,P4,1,5.00,0,surplus\n"
        "L5,O1,5,P5,1,5.00,0\n",
    )
    _write(
        landing / "oms" / "order_lines" / "2026-01-04.csv",
        "order_line_id,order_id,line_number,product_id,quantity,unit_price,discount_amount\nL6,O2,1,P1,1,1.00,0\n",
    )
    result = ingest_entity(conn, get_contract("oms", "order_lines"), landing)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (6, 4, 2)
    lines = conn.execute(
        "select order_line_id, _source_line from raw.oms__order_lines order by _source_file, _source_line"
    ).fetchall()
    assert lines == [("L1", 2), ("L3", 4), ("L5", 6), ("L6", 2)]
    reasons = conn.execute("select _source_line, reason from raw.oms__order_lines__quarantine order by 1").fetchall()
    assert [r[0] for r in reasons] == [3, 5]
    assert all(r[1].startswith("unparseable CSV line") for r in reasons)


def test_json_nulls_in_nested_columns_are_missing_values(conn, tmp_path):
    landing = tmp_path / "landing"
    event = {"message_id": "m1", "type": "page", "event": None, "anonymous_id": "a1", "user_id": None,
             "timestamp": "2026-01-01T10:00:00Z", "context": {"page": {"path": "/"}}, "properties": None, "traits": None}
    _write(landing / "web" / "events" / "2026-01-01.jsonl", json.dumps(event) + "\n")
    result = ingest_entity(conn, get_contract("web", "events"), landing)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 0)
    assert conn.execute("select properties is null and traits is null and user_id is null from raw.web__events").fetchone()[0]


def test_future_tolerance_is_relative_to_an_injectable_now(conn, tmp_path):
    from datetime import datetime, timedelta, timezone

    landing = tmp_path / "landing"
    _write(landing / "crm" / "email_events" / "2026-01-01.csv",
           "email_event_id,crm_customer_id,campaign_id,event_type,url,occurred_at\n"
           "E1,C1,K1,send,,2026-01-01T08:00:00Z\nE2,C1,K1,open,,2026-01-02T07:00:00Z\nE3,C1,K1,open,,2026-01-02T09:00:00Z\n")
    contract = get_contract("crm", "email_events")
    now = datetime(2026, 1, 1, 8, 30, tzinfo=timezone.utc)
    result = ingest_entity(conn, contract, landing, now=now)  # default tolerance: one day
    assert (result.rows_loaded, result.rows_quarantined) == (2, 1)
    reason = conn.execute("select reason from raw.crm__email_events__quarantine").fetchone()[0]
    assert reason == "occurred_at: 2026-01-02T09:00:00Z is in the future (after 2026-01-02 08:30:00 UTC)"
    result = ingest_entity(conn, contract, landing, now=now, future_tolerance=timedelta(days=2))
    assert (result.rows_loaded, result.rows_quarantined) == (3, 0)


def test_reconciliation_per_file_counts_duplicates_and_is_stored(conn, tmp_path):
    landing = tmp_path / "landing"
    header = "email_event_id,crm_customer_id,campaign_id,event_type,url,occurred_at\n"
    _write(landing / "crm" / "email_events" / "2026-01-01.csv",
           header + "E1,C1,K1,send,,2026-01-01T08:00:00Z\nE1,C1,K1,send,,2026-01-01T08:00:00Z\nE2,C1,K1,nope,,2026-01-01T09:00:00Z\n")
    _write(landing / "crm" / "email_events" / "2026-01-02.csv", header + "E1,C1,K1,send,,2026-01-01T08:00:00Z\n")
    contract = get_contract("crm", "email_events")
    result = ingest_entity(conn, contract, landing)
    assert [(f.rows_read, f.rows_loaded, f.rows_quarantined, f.duplicates_removed) for f in result.per_file] == [
        (3, 1, 1, 1), (1, 0, 0, 1)
    ]
    assert result.is_reconciled and result.duplicates_removed == 2
    stored = conn.execute(
        f"select rows_read, rows_loaded, rows_quarantined, duplicates_removed, is_reconciled "
        f"from {contract.reconciliation_table} order by file"
    ).fetchall()
    assert stored == [(3, 1, 1, 1, True), (1, 0, 0, 1, True)]


# ---------------------------------------------------------------- partial (partition) loads

ORDER_LINES_HEADER = "order_line_id,order_id,line_number,product_id,quantity,unit_price,discount_amount\n"


def _rows(conn, table):
    return sorted(conn.execute(f"select * exclude (_loaded_at) from {table}").fetchall(), key=str)


def test_partial_load_replaces_only_its_files_and_equals_a_full_load(conn, tmp_path):
    landing = tmp_path / "landing"
    folder = landing / "oms" / "order_lines"
    day1 = _write(folder / "2026-01-01.csv", ORDER_LINES_HEADER + "L1,O1,1,P1,1,10.00,0\nL2,O1,2,P2,1,5.00,0\n")
    day2 = _write(folder / "2026-01-02.csv", ORDER_LINES_HEADER + "L3,O2,1,P1,2,10.00,0\n")
    contract = get_contract("oms", "order_lines")
    first = ingest_entity(conn, contract, landing, files=[day1])
    assert first.full_refresh, "no raw table yet: the first partial load loads every file"
    assert first.table_rows == 3

    # day 1 delivered again: one line dropped, one corrected, one bad line added
    _write(day1, ORDER_LINES_HEADER + "L1,O1,1,P1,3,10.00,0\nL9,O1,3,P9,-4,1.00,0\n")
    loaded_at_day2 = conn.execute("select _loaded_at from raw.oms__order_lines where _source_file = ?", [str(day2)]).fetchone()
    again = ingest_entity(conn, contract, landing, files=[day1])
    assert not again.full_refresh
    assert (again.rows_read, again.rows_loaded, again.rows_quarantined, again.table_rows) == (2, 1, 1, 2)
    assert [f.file for f in again.per_file] == [str(day1)]
    assert conn.execute("select order_line_id, quantity from raw.oms__order_lines order by 1").fetchall() == [
        ("L1", 3), ("L3", 2)
    ]
    # the other day's rows were not touched
    assert conn.execute(
        "select _loaded_at from raw.oms__order_lines where _source_file = ?", [str(day2)]
    ).fetchone() == loaded_at_day2
    # running the same partition again changes nothing
    state = [_rows(conn, t) for t in (contract.raw_table, contract.quarantine_table, contract.reconciliation_table)]
    ingest_entity(conn, contract, landing, files=[day1])
    assert [_rows(conn, t) for t in (contract.raw_table, contract.quarantine_table, contract.reconciliation_table)] == state

    # and a full load of the same files gives the same tables
    with duckdb.connect(str(tmp_path / "full.duckdb")) as full:
        ingest_entity(full, contract, landing)
        for table in (contract.raw_table, contract.quarantine_table, contract.reconciliation_table):
            assert _rows(full, table) == _rows(conn, table), table


def test_partial_load_counts_rows_already_loaded_from_another_file_as_duplicates(conn, tmp_path):
    landing = tmp_path / "landing"
    folder = landing / "oms" / "order_lines"
    day1 = _write(folder / "2026-01-01.csv", ORDER_LINES_HEADER + "L1,O1,1,P1,1,10.00,0\n")
    contract = get_contract("oms", "order_lines")
    ingest_entity(conn, contract, landing, files=[day1])
    # the next day's export repeats yesterday's line exactly, plus a new one
    day2 = _write(folder / "2026-01-02.csv", ORDER_LINES_HEADER + "L1,O1,1,P1,1,10.00,0\nL2,O2,1,P1,1,10.00,0\n")
    result = ingest_entity(conn, contract, landing, files=[day2])
    assert (result.rows_read, result.rows_loaded, result.duplicates_removed) == (2, 1, 1)
    assert result.is_reconciled
    assert conn.execute("select count(*), count(distinct order_line_id) from raw.oms__order_lines").fetchone() == (2, 2)
    assert conn.execute(
        "select _delivery_date::varchar from raw.oms__order_lines where order_line_id = 'L2'"
    ).fetchone() == ("2026-01-02",)


def test_partial_load_of_a_table_with_an_older_layout_reloads_everything(conn, tmp_path):
    landing = tmp_path / "landing"
    day1 = _write(landing / "oms" / "order_lines" / "2026-01-01.csv", ORDER_LINES_HEADER + "L1,O1,1,P1,1,10.00,0\n")
    _write(landing / "oms" / "order_lines" / "2026-01-02.csv", ORDER_LINES_HEADER + "L2,O2,1,P1,1,10.00,0\n")
    contract = get_contract("oms", "order_lines")
    conn.execute("create schema raw")
    conn.execute("create table raw.oms__order_lines (order_line_id varchar, _source_file varchar)")  # an old build
    result = ingest_entity(conn, contract, landing, files=[day1])
    assert result.full_refresh and result.table_rows == 2


# ---------------------------------------------------------------- free text, folders, windows, horizon

def test_free_text_keeps_its_own_whitespace_and_codes_are_trimmed(conn, tmp_path):
    landing = tmp_path / "landing"
    _write(landing / "crm" / "support_tickets" / "2026-01-01.csv",
           "ticket_id,crm_customer_id,email,order_id,channel,topic,status,priority,satisfaction_score,created_at,solved_at\n"
           'T1,C1,"  Ann@Example.com ",O1, email ,delivery,open,low, 4 ,2026-01-01T08:00:00Z,\n'
           "T2,C2,   ,O2,email,delivery,open,low,,2026-01-01T09:00:00Z,\n")
    result = ingest_entity(conn, get_contract("crm", "support_tickets"), landing)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 0)
    rows = conn.execute("select email, channel, satisfaction_score from raw.crm__support_tickets order by ticket_id").fetchall()
    # the text as delivered; a code (accepted values) without its padding; a value of only spaces is empty
    assert rows == [("  Ann@Example.com ", "email", 4), (None, "email", None)]

    _write(landing / "pim" / "reviews" / "2026-01-01.jsonl", json.dumps(
        {"review_id": "R1", "product_id": "P1", "rating": 5, "title": "  Great\tphone ", "body": "line one\n  line two\n",
         "is_verified_purchase": True, "submitted_at": "2026-01-01T10:00:00Z"}) + "\n")
    ingest_entity(conn, get_contract("pim", "reviews"), landing)
    assert conn.execute("select title, body from raw.pim__reviews").fetchone() == ("  Great\tphone ", "line one\n  line two\n")


def test_a_missing_landing_folder_fails_naming_it_and_keeps_the_raw_table(conn, tmp_path):
    landing = tmp_path / "landing"
    contract = get_contract("oms", "order_lines")
    with pytest.raises(DeliveriesMissing) as err:
        ingest_entity(conn, contract, landing)
    assert str(landing / "oms" / "order_lines") in str(err.value) and "no landing folder" in str(err.value)
    assert not conn.execute("select count(*) from information_schema.tables where table_name = 'oms__order_lines'").fetchone()[0]

    _write(landing / "oms" / "order_lines" / "2026-01-01.csv", ORDER_LINES_HEADER + "L1,O1,1,P1,1,10.00,0\n")
    ingest_entity(conn, contract, landing)
    (landing / "oms" / "order_lines" / "2026-01-01.csv").unlink()
    (landing / "oms" / "order_lines").rmdir()
    with pytest.raises(DeliveriesMissing):
        ingest_entity(conn, contract, landing)
    assert conn.execute("select count(*) from raw.oms__order_lines").fetchone()[0] == 1


def test_a_full_refresh_that_finds_no_files_where_there_were_some_fails_and_keeps_the_table(conn, tmp_path):
    landing = tmp_path / "landing"
    folder = landing / "crm" / "email_events"
    day = _write(folder / "2026-01-01.csv", "email_event_id,crm_customer_id,campaign_id,event_type,url,occurred_at\n"
                 "E1,C1,K1,send,,2026-01-01T08:00:00Z\nE2,C1,K1,nope,,2026-01-01T09:00:00Z\n")
    contract = get_contract("crm", "email_events")
    ingest_entity(conn, contract, landing)
    before = [_rows(conn, t) for t in (contract.raw_table, contract.quarantine_table, contract.reconciliation_table)]
    day.rename(folder / "2026-01-01.csv.part")  # e.g. an uploader that renamed everything, or an archive job
    with pytest.raises(DeliveriesMissing) as err:
        ingest_entity(conn, contract, landing)
    message = str(err.value)
    assert str(folder) in message and "2 rows" in message and "2026-01-01.csv.part" in message
    assert [_rows(conn, t) for t in (contract.raw_table, contract.quarantine_table, contract.reconciliation_table)] == before


def test_physical_line_of_a_rejected_line_after_a_multi_line_value(conn, tmp_path):
    landing = tmp_path / "landing"
    _write(landing / "crm" / "email_events" / "2026-01-01.csv",
           "email_event_id,crm_customer_id,campaign_id,event_type,url,occurred_at\n"
           'E1,C1,K1,click,"https://x.example/a\n\nb",2026-01-01T08:00:00Z\n'  # lines 2-4
           "E2,C1,K1,open\n"  # line 5: too few fields
           '\nE3,C1,K1,open,"say ""hi""",2026-01-01T09:00:00Z\n'  # blank line 6, record on 7
           'E4,C1,K1,send,12" screen,2026-01-01T09:30:00Z\n'  # a stray quote in an unquoted value, line 8
           "E5,C1,K1,nope,,2026-01-01T10:00:00Z\n")  # line 9: bad value
    result = ingest_entity(conn, get_contract("crm", "email_events"), landing)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (5, 3, 2)
    assert conn.execute("select email_event_id, _source_line from raw.crm__email_events order by 2").fetchall() == [
        ("E1", 2), ("E3", 7), ("E4", 8)
    ]
    reasons = conn.execute("select _source_line, reason from raw.crm__email_events__quarantine order by 1").fetchall()
    assert [r[0] for r in reasons] == [5, 9]
    assert reasons[0][1].startswith("unparseable CSV line") and "event_type: nope" in reasons[1][1]
    assert conn.execute("select url from raw.crm__email_events where email_event_id = 'E1'").fetchone()[0] == "https://x.example/a\n\nb"


def test_the_event_horizon_is_configurable(conn, tmp_path):
    from datetime import timedelta

    landing = tmp_path / "landing"
    _write(landing / "crm" / "email_events" / "2026-03-01.csv",
           "email_event_id,crm_customer_id,campaign_id,event_type,url,occurred_at\n"
           "E1,C1,K1,send,,2026-02-25T08:00:00Z\nE2,C1,K1,open,,2025-12-01T07:00:00Z\nE3,C1,K1,open,,1970-01-01T00:00:00Z\n")
    contract = get_contract("crm", "email_events")
    assert (ingest_entity(conn, contract, landing).rows_loaded) == 2  # default: ten years
    result = ingest_entity(conn, contract, landing, event_horizon=timedelta(days=30))
    assert (result.rows_loaded, result.rows_quarantined) == (1, 2)
    assert conn.execute("select reason from raw.crm__email_events__quarantine order by _source_line").fetchall()[0] == (
        "occurred_at: 2025-12-01T07:00:00Z is older than the event horizon (30 days before 2026-03-01)",
    )
    assert ingest_entity(conn, contract, landing, event_horizon=None).rows_loaded == 3


def test_the_event_horizon_setting(monkeypatch, tmp_path):
    from dagster_project.settings import Settings

    monkeypatch.setenv("RCL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RCL_EVENT_HORIZON_DAYS", "400")
    assert Settings.from_env().event_horizon_days == 400
    monkeypatch.delenv("RCL_EVENT_HORIZON_DAYS")
    assert Settings.from_env().event_horizon_days == 3650


def test_a_partition_window_takes_compressed_and_upper_case_deliveries_and_nothing_else(tmp_path):
    from datetime import date

    from dagster_project.defs.partitions import DeliveryWindow

    folder = tmp_path / "landing" / "oms" / "order_lines"
    for name in ("2026-01-01.csv", "2026-01-02.csv.gz", "2026-01-03.CSV", "2026-01-03.csv.part", "._2026-01-02.csv",
                 ".2026-01-02.csv", "2026-01-02.jsonl", "README.md", "2026-01-05.csv", "corrections.csv"):
        _write(folder / name, "")
    window = DeliveryWindow(date(2026, 1, 2), date(2026, 1, 4), full=False)
    assert [p.name for p in window.files(get_contract("oms", "order_lines"), tmp_path / "landing")] == [
        "2026-01-02.csv.gz", "2026-01-03.CSV"
    ]


def test_a_compressed_redelivery_of_a_day_replaces_nothing_twice(conn, tmp_path):
    """The same rows delivered plain and gzip-compressed are exact duplicates: loaded once, and
    every file reconciles."""
    import gzip

    landing = tmp_path / "landing"
    folder = landing / "oms" / "order_lines"
    text = ORDER_LINES_HEADER + "L1,O1,1,P1,1,10.00,0\nL2,O1,2,P2,2,5.00,0\n"
    _write(folder / "2026-01-01.csv", text)
    (folder / "2026-01-02.csv.gz").write_bytes(gzip.compress(text.encode()))
    result = ingest_entity(conn, get_contract("oms", "order_lines"), landing)
    assert (result.rows_read, result.rows_loaded, result.duplicates_removed) == (4, 2, 2)
    assert result.is_reconciled
    assert conn.execute("select count(*) from raw.oms__order_lines__reconciliation where is_reconciled").fetchone()[0] == 2


def test_an_unreadable_file_fails_naming_it(conn, tmp_path):
    landing = tmp_path / "landing"
    path = landing / "web" / "events" / "2026-01-01.jsonl.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x1f\x8b\x08\x00 this is not really gzip")
    with pytest.raises(ContractViolation) as err:
        ingest_entity(conn, get_contract("web", "events"), landing)
    assert str(path) in str(err.value) and "cannot be read" in str(err.value)


def _materialize_ingestion(tmp_path, system, entity, with_delivery_check=False):
    import dagster as dg
    from dagster_duckdb import DuckDBResource

    from dagster_project.defs.assets.ingestion import build_ingestion_asset
    from dagster_project.defs.checks.delivery import build_delivery_check
    from dagster_project.defs.resources import RclSettings
    from dagster_project.settings import Settings

    settings = Settings.for_data_dir(tmp_path, partitions_start="2026-01-01")
    asset = build_ingestion_asset(get_contract(system, entity), settings)
    checks = [build_delivery_check(get_contract(system, entity))] if with_delivery_check else []
    return dg.materialize(
        [asset, *checks], resources={"warehouse": DuckDBResource(database=str(tmp_path / "warehouse.duckdb")),
                                     "rcl_settings": RclSettings.from_settings(settings)},
        raise_on_error=False,
        tags={"dagster/asset_partition_range_start": "2026-01-01", "dagster/asset_partition_range_end": "2026-01-02"},
    )


def test_the_asset_lists_ignored_and_rejected_files_in_its_metadata(tmp_path):
    folder = tmp_path / "landing" / "wms" / "inbound_shipments"
    header = "shipment_id,product_id,location_id,quantity,announced_at,expected_at,received_at\n"
    _write(folder / "2026-01-01.csv", header + "S1,P1,W1,5,2026-01-01T08:00:00Z,2026-01-05T08:00:00Z,\n")
    _write(folder / "2099-01-01.csv", header + "S2,P1,W1,5,2026-01-01T09:00:00Z,2026-01-05T08:00:00Z,\n")
    _write(folder / ".DS_Store", "\x00\x00")
    _write(folder / "2026-01-02.csv.part", header + "S3,P1")
    result = _materialize_ingestion(tmp_path, "wms", "inbound_shipments")
    assert result.success
    metadata = result.asset_materializations_for_node("raw__wms__inbound_shipments")[0].metadata
    assert metadata["ignored_files"].value == {
        "wms/inbound_shipments/.DS_Store": "hidden file",
        "wms/inbound_shipments/2026-01-02.csv.part": "upload in progress (temporary name)",
    }
    assert list(metadata["rejected_files"].value) == ["wms/inbound_shipments/2099-01-01.csv"]
    assert (metadata["rows_read"].value, metadata["rows_loaded"].value, metadata["rows_quarantined"].value) == (2, 1, 1)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["rows_reconciled"].passed
    assert list(checks["rows_reconciled"].metadata["rejected_files"].value) == ["wms/inbound_shipments/2099-01-01.csv"]


def test_a_source_without_a_landing_folder_is_rejected_with_a_clear_message(tmp_path):
    (tmp_path / "landing").mkdir()
    result = _materialize_ingestion(tmp_path, "oms", "returns", with_delivery_check=True)
    # the run fails, through the source's own delivery check (nothing downstream waits for it)
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert len(failures) == 1 and "delivery rejected" in failures[0].step_failure_data.error.to_string()
    rejected = result.asset_materializations_for_node("raw__oms__returns")[0].metadata["delivery_rejected"].value
    assert "DeliveriesMissing" in rejected and "no landing folder" in rejected and "oms/returns" in rejected
    # no good load yet: empty tables of the contract's layout, so the models reading the source build
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute("select count(*) from raw.oms__returns").fetchone()[0] == 0
        columns = [r[0] for r in conn.execute("describe raw.oms__returns").fetchall()]
        assert [c.name for c in get_contract("oms", "returns").columns] == columns[: len(get_contract("oms", "returns").columns)]


def test_accepted_spellings_load_as_exactly_the_value_delivered(conn, tmp_path):
    landing = tmp_path / "landing"
    _write(landing / "oms" / "order_lines" / "2026-01-01.csv",
           ORDER_LINES_HEADER + "L1,O1,+7,P1,007,12.340,.5\nL2,O1, 2 ,P2,3,-0,1.\n")
    result = ingest_entity(conn, get_contract("oms", "order_lines"), landing)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 0)
    assert conn.execute(
        "select line_number, quantity, unit_price, discount_amount from raw.oms__order_lines order by 1"
    ).fetchall() == [(2, 3, Decimal("0.00"), Decimal("1.00")), (7, 7, Decimal("12.34"), Decimal("0.50"))]

    _write(landing / "crm" / "marketing_consents" / "2026-01-01.csv",
           "consent_event_id,crm_customer_id,channel,is_granted,source,recorded_at\n"
           "K1,C1,email,TRUE,store,2026-01-01T10:00:00-14:00\n"  # the widest real offsets
           "K2,C1,email,False,store,2025-12-31T23:59:59.123456789+14:00\n"  # nanoseconds: stored to the microsecond
           "K3,C1,email,true,store,2026-01-01 10:00+0530\n")
    result = ingest_entity(conn, get_contract("crm", "marketing_consents"), landing)
    assert (result.rows_loaded, result.rows_quarantined) == (3, 0)
    assert [(k, g, str(t)) for k, g, t in conn.execute(
        "select consent_event_id, is_granted, recorded_at from raw.crm__marketing_consents order by 1").fetchall()] == [
        ("K1", True, "2026-01-02 00:00:00"), ("K2", False, "2025-12-31 09:59:59.123456"), ("K3", True, "2026-01-01 04:30:00")
    ]


def test_a_rejected_file_does_not_hide_the_same_row_in_a_good_file(conn, tmp_path):
    """Exact-duplicate detection ignores the rows of a rejected file: otherwise the first copy
    (quarantined with its file) would make the good copy a 'duplicate' and the row would vanish."""
    from datetime import datetime, timezone

    landing = tmp_path / "landing"
    header = "email_event_id,crm_customer_id,campaign_id,event_type,url,occurred_at\n"
    row = "E1,C1,K1,send,,2026-01-20T08:00:00Z\n"
    _write(landing / "crm" / "email_events" / "2026-01-05.csv", header + row)  # dated before its row: rejected
    good = _write(landing / "crm" / "email_events" / "2026-01-20.csv", header + row)
    result = ingest_entity(conn, get_contract("crm", "email_events"), landing,
                           now=datetime(2026, 2, 1, tzinfo=timezone.utc))
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined, result.duplicates_removed) == (2, 1, 1, 0)
    assert conn.execute("select _source_file from raw.crm__email_events").fetchall() == [(str(good),)]
    assert result.is_reconciled


def test_a_load_drops_every_temp_table_its_plan_names(conn, tmp_path):
    """The steps pass temp tables along by the names in their LoadPlan; none outlives the load,
    also when a file holds duplicates, a repeated key and a line that does not parse."""
    from dataclasses import fields

    from dagster_project.ingestion.plan import LoadPlan

    landing = tmp_path / "landing"
    _write(
        landing / "oms" / "order_lines" / "2026-01-02.csv",
        "order_line_id,order_id,line_number,product_id,quantity,unit_price,discount_amount\n"
        "L1,O1,1,P1,2,10.50,0\n"
        "L1,O1,1,P1,2,10.50,0\n"
        "L1,O1,1,P1,3,10.50,0\n"
        '"L2,O1\n',
    )
    result = ingest_entity(conn, get_contract("oms", "order_lines"), landing)
    assert (result.rows_read, result.duplicates_removed) == (4, 1) and result.is_reconciled
    plan_tables = {f.default for f in fields(LoadPlan) if isinstance(f.default, str)}
    assert {"landed", "landed_file", "checked", "delivery_files", "duplicate_rows"} <= plan_tables
    left = {name for (name,) in conn.execute("select table_name from duckdb_tables() where temporary").fetchall()}
    assert not left & (plan_tables | {"csv_line_map"}), left


def test_quarantine_previews_for_dagster_withhold_the_ids_of_people():
    """The quarantine preview goes to Dagster's run history, out of a deletion's reach: a person's
    id quoted in a reason is withheld there (the quarantine table keeps the full reason)."""
    from dagster_project.defs.assets.ingestion import withhold_person_ids

    assert withhold_person_ids("duplicate key order_id O1000 with different content (first at line 2)") == \
        "duplicate key order_id (withheld) with different content (first at line 2)"
    assert withhold_person_ids("duplicate key email_event_id E1 with different content") == \
        "duplicate key email_event_id E1 with different content"
    assert withhold_person_ids("anonymous_id: a-1 is too long; price: 1x is not a valid DECIMAL(12,2)") == \
        "anonymous_id: (withheld) is too long; price: 1x is not a valid DECIMAL(12,2)"
    assert withhold_person_ids("missing required cart_id") == "missing required cart_id"


def _landed_rows(conn, entity: str) -> dict[str, list]:
    return {
        table: conn.execute(f"select * exclude (_loaded_at) from raw.{table} order by all").fetchall()
        for table in (entity, f"{entity}__quarantine")
    }


def _land_both_ways(tmp_path, monkeypatch, contract, landing, scan: str, ids: str):
    """Ingest `landing` twice: as ingestion does (runs of files in one scan, recorded by calling
    `scan`) and every file on its own. Returns both results, their raw and quarantine rows, the
    runs scanned together, (file name, line) by `ids` and the quarantined (file name, line)s."""
    import dagster_project.ingestion.load as load

    scans = []
    original = getattr(load, scan)
    monkeypatch.setattr(load, scan, lambda conn, c, paths, *a: scans.append(paths) or original(conn, c, paths, *a))
    table = f"{contract.system}__{contract.entity}"
    with duckdb.connect(str(tmp_path / "batched.duckdb")) as conn:
        batched = ingest_entity(conn, contract, landing)
        batched_rows = _landed_rows(conn, table)
        loaded = {key: (Path(file).name, line) for key, file, line in conn.execute(
            f"select {ids}, _source_file, _source_line from raw.{table}").fetchall()}
        quarantined = [(Path(file).name, line) for file, line in conn.execute(
            f"select _source_file, _source_line from raw.{table}__quarantine order by all").fetchall()]
    monkeypatch.setattr(load, "_runs_of_one_scan", lambda plan: [[path] for path in plan.files])
    with duckdb.connect(str(tmp_path / "alone.duckdb")) as conn:
        alone = ingest_entity(conn, contract, landing)
        alone_rows = _landed_rows(conn, table)
    assert batched_rows == alone_rows
    assert batched.per_file == alone.per_file and batched.is_reconciled
    assert sorted(batched.warnings) == sorted(alone.warnings)
    assert batched.extra_columns == alone.extra_columns
    return batched, [len(paths) for paths in scans], loaded, quarantined


def test_same_header_files_land_in_one_scan_exactly_as_one_by_one(tmp_path, monkeypatch):
    """Consecutive CSV files with one header land in one scan; a file whose records are not one
    per line (a quoted line break, a blank line) or that has a rejected line lands on its own:
    rows, lines, quarantine and reconciliation are the same as landing every file alone."""
    header = "email_event_id,crm_customer_id,campaign_id,event_type,url,occurred_at\n"
    landing = tmp_path / "landing"
    folder = landing / "crm" / "email_events"
    _write(folder / "2026-01-01.csv", header + "E1,C1,K1,open,,2026-01-01T08:00:00Z\n"
           "E2,C1,K1,nope,,2026-01-01T09:00:00Z\n")  # line 3: a bad value
    _write(folder / "2026-01-02.csv", header + 'E3,C1,K1,click,"https://x.example/a\nb",2026-01-02T08:00:00Z\n'
           "E4,C1,K1,open,,2026-01-02T09:00:00Z\n")  # a value over two lines: E4 on line 4
    _write(folder / "2026-01-03.csv", header)  # no rows
    _write(folder / "2026-01-04.csv", header + "E5,C1,K1,open\n"  # too few fields
           "E6,C1,K1,open,,2026-01-04T09:00:00Z\n")
    _write(folder / "2026-01-05.csv", header + "\nE7,C1,K1,open,,2026-01-05T08:00:00Z\n")  # a blank line
    _write(folder / "2026-01-06.csv", header.replace("\n", ",coupon\n") + "E8,C1,K1,open,,2026-01-06T08:00:00Z,X\n")
    for day in range(7, 10):  # plain days again after the extra column
        _write(folder / f"2026-01-{day:02d}.csv", header + f"E{day + 2},C1,K1,open,,2026-01-{day:02d}T08:00:00Z\n"
               f"E{day + 2},C1,K1,open,,2026-01-{day:02d}T08:00:00Z\n")  # a duplicate
    folder.joinpath("2026-01-10.csv").write_bytes(header.encode() + b"E20,C1,K1,open,caf\xe9,2026-01-10T08:00:00Z\n")
    batched, scans, loaded, quarantined = _land_both_ways(tmp_path, monkeypatch, get_contract("crm", "email_events"),
                                                          landing, "land_csv_files", "email_event_id")

    assert scans == [5, 4]  # cut by the file with another header
    assert batched.extra_columns == {str(folder / "2026-01-06.csv"): ["coupon"]}
    assert loaded["E1"] == ("2026-01-01.csv", 2) and loaded["E4"] == ("2026-01-02.csv", 4)
    assert loaded["E6"] == ("2026-01-04.csv", 3) and loaded["E7"] == ("2026-01-05.csv", 3)
    assert loaded["E8"] == ("2026-01-06.csv", 2) and loaded["E11"] == ("2026-01-09.csv", 2)
    assert quarantined == [
        ("2026-01-01.csv", 3), ("2026-01-04.csv", 2), ("2026-01-10.csv", 2)]  # a bad value, too few fields, not UTF-8
    assert sum(f.duplicates_removed for f in batched.per_file) == 3


def test_json_lines_files_land_in_one_scan_exactly_as_one_by_one(tmp_path, monkeypatch):
    """Plain JSON-lines files land in one scan; one with a line that is not UTF-8 lands on its
    own. Broken lines, blank lines, a byte order mark and extra keys come out as landing each
    file alone gives them, each with its file and physical line."""
    def event(n: int, day: int, **extra) -> str:
        return json.dumps({"message_id": f"m{n}", "type": "page", "anonymous_id": "a1",
                           "timestamp": f"2026-01-{day:02d}T10:00:00Z", "context": {"page": {"path": "/"}}, **extra})

    landing = tmp_path / "landing"
    folder = landing / "web" / "events"
    _write(folder / "2026-01-01.jsonl", event(1, 1) + "\n{not json\n" + event(2, 1) + "\n")
    _write(folder / "2026-01-02.jsonl", "\n\n" + event(3, 2, plan="pro") + "\n")  # blank lines, an extra key
    folder.joinpath("2026-01-03.jsonl").write_bytes("\ufeff".encode() + (event(4, 3) + "\n").encode())  # a BOM
    folder.joinpath("2026-01-04.jsonl").write_bytes(b'{"message_id": "m5", "caf\xe9": 1}\n' + (event(6, 4) + "\n").encode())
    _write(folder / "2026-01-05.jsonl", '{"message_id": "m7", "message_id": "m8"}\n' + event(9, 5) + "\n")
    batched, scans, loaded, quarantined = _land_both_ways(tmp_path, monkeypatch, get_contract("web", "events"),
                                                          landing, "land_jsonl_files", "message_id")

    assert scans == [5]
    assert batched.extra_columns == {str(folder / "2026-01-02.jsonl"): ["plan"]}
    assert loaded == {"m1": ("2026-01-01.jsonl", 1), "m2": ("2026-01-01.jsonl", 3), "m3": ("2026-01-02.jsonl", 3),
                      "m4": ("2026-01-03.jsonl", 1), "m6": ("2026-01-04.jsonl", 2), "m9": ("2026-01-05.jsonl", 2)}
    assert quarantined == [
        ("2026-01-01.jsonl", 2), ("2026-01-04.jsonl", 1), ("2026-01-05.jsonl", 1)]  # not JSON, not UTF-8, a key twice
