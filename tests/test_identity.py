"""Identity resolution on a real warehouse: customer ids are stable across re-runs, and new
evidence that joins two customers merges them under the older id and records the merge; a
newsletter landing links the browser to the subscriber; the scorer's recall_linkable counts only
identifiers with linking evidence in the raw data."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from bench.identity import default_salt, score_identity
from dagster_project.contracts import get_contract
from dagster_project.ingestion import ingest_entity
from dagster_project.settings import DBT_PROJECT_DIR

from conftest import make_settings

pytestmark = pytest.mark.slow


def _dbt_build(settings, tmp_path, select: str) -> None:
    dbt = str(Path(sys.executable).with_name("dbt"))
    proc = subprocess.run(
        [dbt, "build", "--select", select, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp_path / "dbt_target"), "--log-path", str(tmp_path / "dbt_logs")],
        capture_output=True, text=True, env={**os.environ, **settings.env()},
    )
    assert proc.returncode == 0, proc.stdout[-3000:]


def _registry(settings) -> dict:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return {(t, v): c for t, v, c in conn.execute(
            "select identifier_type, identifier_value, customer_id from intermediate.int_customer_id_registry").fetchall()}


def test_ids_are_stable_and_merges_keep_the_older_id(pipeline_settings, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(pipeline_settings.data_dir, data_dir)
    settings = make_settings(data_dir)
    before = _registry(settings)
    assert len(before) > 1000

    # same data again: not one id changes, no merge is recorded
    _dbt_build(settings, tmp_path, "+customer_merges")
    assert _registry(settings) == before
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        assert conn.execute("select count(*) from marts.customer_merges").fetchone()[0] == 0
        # two registered customers whose identifiers never met
        (a_crm, a_email, a_id), (b_account, b_id) = conn.execute(
            """
            select c.crm_customer_id, c.email, r.customer_id
            from raw.crm__customers c
            join intermediate.int_customer_id_registry r
              on r.identifier_type = 'crm_customer_id' and r.identifier_value = c.crm_customer_id
            where c.email like '%@%.%' and c.oms_customer_id is null
            order by c.crm_customer_id limit 1
            """
        ).fetchone(), conn.execute(
            """
            select identifier_value, customer_id from intermediate.int_customer_id_registry
            where identifier_type = 'oms_customer_id' and customer_id <> $1
            order by identifier_value limit 1
            """,
            [conn.execute("select customer_id from intermediate.int_customer_id_registry "
                          "where identifier_type = 'crm_customer_id' and identifier_value = (select min(crm_customer_id) from raw.crm__customers where email like '%@%.%' and oms_customer_id is null)").fetchone()[0]],
        ).fetchone()
    assert a_id != b_id

    # the CRM learns that A's email belongs to B's shop account: one person
    crm_dir = settings.landing_dir / "crm" / "customers"
    (crm_dir / "2026-11-01.csv").write_text(
        "crm_customer_id,oms_customer_id,email,phone,first_name,last_name,address,postcode,city,country,"
        "birth_year,created_at,updated_at\n"
        f"CRM-MERGE-1,{b_account},{a_email},,,,,,,DE,,2026-11-01T00:00:00Z,2026-11-01T00:00:00Z\n"
    )
    with duckdb.connect(str(settings.warehouse_path)) as conn:
        result = ingest_entity(conn, get_contract("crm", "customers"), settings.landing_dir)
        assert conn.execute("select count(*) from raw.crm__customers where crm_customer_id = 'CRM-MERGE-1'").fetchone()[0] == 1, result
    _dbt_build(settings, tmp_path, "+customer_merges")

    after = _registry(settings)
    survivor = min(a_id, b_id)  # both were first assigned in the same run: the tie goes to the smaller id
    retired = max(a_id, b_id)
    moved = [k for k, v in before.items() if v == retired]
    assert moved and all(after[k] == survivor for k in moved), ({k: after[k] for k in moved}, a_id, b_id)
    assert all(after[k] == survivor for k, v in before.items() if v == survivor)
    assert after[("crm_customer_id", "CRM-MERGE-1")] == survivor
    # everybody else keeps their id
    others = [k for k, v in before.items() if v not in (a_id, b_id) and v is not None]
    assert all(after[k] == before[k] for k in others)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        merges = conn.execute(
            "select from_customer_id, to_customer_id, change_type, identifiers_moved from marts.customer_merges"
        ).fetchall()
    assert merges == [(retired, survivor, "merge", len(moved))]


TOKEN_SQL = "regexp_extract(json_extract_string(context, '$.page.url'), '[?&]rcl_sub=([^&#]*)', 1)"


def test_newsletter_landing_links_the_browser_to_the_subscriber(pipeline_settings):
    with duckdb.connect(str(pipeline_settings.warehouse_path), read_only=True) as conn:
        landings = conn.execute(
            f"select anonymous_id, {TOKEN_SQL}, _source_file, _source_line from raw.web__events "
            "where json_extract_string(context, '$.page.url') like '%rcl_sub=%'"
        ).fetchall()
        crm_ids = {r[0] for r in conn.execute("select crm_customer_id from raw.crm__customers").fetchall()}
        stitched = {(t, v): c for t, v, c in conn.execute(
            "select identifier_type, identifier_value, customer_id from intermediate.int_identities_stitched").fetchall()}
        edges = conn.execute(
            "select value_a, value_b, first_source_file, first_source_line from intermediate.int_identity_edges "
            "where linked_by = 'web_email_click' and type_a = 'anonymous_id' and type_b = 'crm_customer_id'"
        ).fetchall()
    valid = [r for r in landings if r[1] in crm_ids]
    junk = [r for r in landings if r[1] not in crm_ids]
    assert len(valid) >= 20 and junk, (len(valid), len(junk))
    for cookie, token, _, _ in valid:
        assert stitched[("anonymous_id", cookie)] is not None
        assert stitched[("anonymous_id", cookie)] == stitched[("crm_customer_id", token)], (cookie, token)
    # each edge keeps the raw row that carried the token as its evidence
    rows = {(cookie, token, f, line) for cookie, token, f, line in landings}
    assert edges and all(edge in rows for edge in edges)
    assert {(c, t) for c, t, _, _ in edges} == {(c, t) for c, t, _, _ in valid}
    # junk tokens ('', 'null', unrendered merge tags) link nothing
    assert not {t for _, t, _, _ in junk} & {t for _, t, _, _ in edges}


def test_recall_linkable_on_the_pipeline(pipeline_settings):
    score = score_identity(pipeline_settings.warehouse_path,
                           pipeline_settings.data_dir / "ground_truth" / "identities.parquet", default_salt(pipeline_settings))
    assert score["precision"] >= 0.99, score
    assert score["recall_linkable"] >= 0.97, score
    assert score["recall"] < score["recall_linkable"]
    # every correctly stitched pair rests on evidence the scorer finds in the raw data
    assert score["linkable_true_positive_pairs"] == score["true_positive_pairs"]
    assert score["linkable_identifiers"] < score["identifiers"]


SALT = "test-salt"


def _sha(text: str) -> str:
    return hashlib.sha256((SALT + text).encode()).hexdigest()


def test_recall_linkable_counts_only_identifiers_with_evidence(tmp_path):
    """Person A: email, account OMS1, CRM1, cookie a1 (logged in), a2 (no evidence), a3 (newsletter
    landing with A's token, missed by the stitching), a4 (landing with a junk token). Person B:
    account OMS2 and cookie b1 that completed B's order O2 (evidence through the order). Person C:
    account OMS3 seen only on the kiosk (a shared cookie is no evidence) and cookie c2."""
    truth = pd.DataFrame(
        [("A", "email", "anna@x.de"), ("A", "oms_customer_id", "OMS1"), ("A", "crm_customer_id", "CRM1"),
         ("A", "anonymous_id", "a1"), ("A", "anonymous_id", "a2"), ("A", "anonymous_id", "a3"),
         ("A", "anonymous_id", "a4"), ("B", "oms_customer_id", "OMS2"), ("B", "anonymous_id", "b1"),
         ("C", "oms_customer_id", "OMS3"), ("C", "anonymous_id", "c2"), ("shared", "anonymous_id", "kiosk")],
        columns=["person_id", "identifier_type", "identifier_value"],
    )
    truth_path = tmp_path / "identities.parquet"
    truth.to_parquet(truth_path)
    warehouse = tmp_path / "warehouse.duckdb"
    conn = duckdb.connect(str(warehouse))
    conn.execute("create schema intermediate")
    conn.execute("create table intermediate.int_identities_stitched "
                 "(identifier_type varchar, identifier_value varchar, customer_id varchar)")
    conn.executemany("insert into intermediate.int_identities_stitched values (?, ?, ?)", [
        ("email_hash", _sha("anna@x.de"), "cus_a"), ("oms_customer_id", "OMS1", "cus_a"),
        ("crm_customer_id", "CRM1", "cus_a"), ("anonymous_id", "a1", "cus_a"), ("anonymous_id", "a3", "cus_a3"),
        ("oms_customer_id", "OMS2", "cus_b"), ("anonymous_id", "b1", "cus_b"),
        ("oms_customer_id", "OMS3", "cus_c"), ("anonymous_id", "kiosk", None),
    ])
    conn.execute("create schema raw")
    conn.execute("create table raw.web__events (anonymous_id varchar, user_id varchar, context json, "
                 "properties json, traits json, _source_file varchar, _source_line bigint)")
    landing = '{"page": {"url": "https://www.voltmarkt.de/p/tv?utm_medium=email&rcl_sub=%s"}}'
    conn.executemany("insert into raw.web__events values (?, ?, ?, ?, ?, 'web.jsonl', ?)", [
        ("a1", "OMS1", None, None, None, 1),
        ("a2", None, '{"page": {"url": "https://www.voltmarkt.de/"}}', None, None, 2),
        ("a3", None, landing % "CRM1", None, None, 3),
        ("a4", None, landing % "null", None, None, 4),
        ("b1", None, None, '{"order_id": "O2"}', None, 5),
        ("kiosk", "OMS1", None, None, None, 6),
        ("kiosk", "OMS3", None, None, None, 7),
    ])
    conn.execute("create table raw.oms__orders (order_id varchar, oms_customer_id varchar, email varchar, "
                 "phone varchar, _source_file varchar, _source_line bigint)")
    conn.executemany("insert into raw.oms__orders values (?, ?, ?, null, 'orders.csv', ?)",
                     [("O1", "OMS1", " Anna@X.de", 2), ("O2", "OMS2", None, 3)])
    conn.execute("create table raw.crm__customers (crm_customer_id varchar, oms_customer_id varchar, email varchar, "
                 "phone varchar, _source_file varchar, _source_line bigint)")
    conn.execute("insert into raw.crm__customers values ('CRM1', 'OMS1', 'anna@x.de', null, 'crm.csv', 2)")
    conn.execute("create table raw.crm__support_tickets (crm_customer_id varchar, email varchar, order_id varchar, "
                 "_source_file varchar, _source_line bigint)")
    conn.close()

    score = score_identity(warehouse, truth_path, SALT)
    # A: 7 identifiers (21 pairs), 4 together (6); B: 1 pair, found; C: 1 pair, missed
    assert (score["true_pairs"], score["true_positive_pairs"]) == (23, 7)
    assert score["recall"] == pytest.approx(7 / 23)
    # with evidence: A's email, OMS1, CRM1, a1, a3 (10 pairs, 6 found); B's OMS2 and b1 (1, found)
    assert score["linkable_identifiers"] == 7
    assert (score["linkable_true_pairs"], score["linkable_true_positive_pairs"]) == (11, 7)
    assert score["recall_linkable"] == pytest.approx(7 / 11)
    assert score["precision"] == 1.0

    # a warehouse without raw tables has no evidence to decide on
    conn = duckdb.connect(str(warehouse))
    conn.execute("drop schema raw cascade")
    conn.close()
    assert score_identity(warehouse, truth_path, SALT)["recall_linkable"] is None
