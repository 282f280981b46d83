"""Identity resolution on a real warehouse: customer ids are stable across re-runs, and new
evidence that joins two customers merges them under the older id and records the merge."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dagster_project.contracts import get_contract
from dagster_project.ingestion import ingest_entity
from dagster_project.settings import DBT_PROJECT_DIR

from conftest import make_settings

pytestmark = pytest.mark.slow


def _dbt_build(settings, tmp_path, select: str) -> None:
    settings.export_env()
    dbt = str(Path(sys.executable).with_name("dbt"))
    proc = subprocess.run(
        [dbt, "build", "--select", select, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp_path / "dbt_target"), "--log-path", str(tmp_path / "dbt_logs")],
        capture_output=True, text=True, env=os.environ.copy(),
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
