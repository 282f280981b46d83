"""Great Expectations gates: raw suites generated from the contracts (non-blocking, on a bounded
sample, failures with expectation, count and sample values, a viewable page), and feature-table
gates: invariants on every row, profile compared with the deployment's baseline (more in
tests/test_feature_gates.py)."""

from __future__ import annotations

import json
import shutil

import dagster as dg
import duckdb
import pandas as pd
import pytest

from dagster_project.contracts import CONTRACTS, get_contract
from dagster_project.defs.checks.raw import run_raw_check
from dagster_project.ingestion import ingest_entity

from conftest import make_settings


def test_raw_suites_follow_the_contracts():
    from expectations.raw_suites import raw_suite

    for contract in CONTRACTS:
        suite = raw_suite(contract)
        kinds = {(e.expectation_type, getattr(e, "column", None)) for e in suite.expectations}
        for c in contract.columns:
            assert ("expect_column_to_exist", c.name) in kinds
            if c.required:
                assert ("expect_column_values_to_not_be_null", c.name) in kinds, (contract.name, c.name)
            if c.accepted_values:
                assert ("expect_column_values_to_be_in_set", c.name) in kinds
            if c.min_value is not None or c.max_value is not None:
                assert ("expect_column_values_to_be_between", c.name) in kinds
        assert ("expect_compound_columns_to_be_unique", None) in kinds
        if contract.event_time:
            assert ("expect_column_values_to_be_between", contract.event_time) in kinds


def _orders_csv(rows):
    contract = get_contract("oms", "orders")
    header = ",".join(c.name for c in contract.columns)
    lines = []
    for i, channel in enumerate(rows):
        values = {
            "order_id": f"O{i}", "email": f"a{i}@x.io", "channel": channel, "ordered_at": "2026-02-01T10:00:00Z",
            "status": "placed", "currency": "EUR", "subtotal_amount": "10.00", "discount_amount": "0",
            "shipping_amount": "0", "tax_amount": "1.00", "total_amount": "11.00", "shipping_country": "DE",
        }
        lines.append(",".join(values.get(c.name, "") for c in contract.columns))
    return header + "\n" + "\n".join(lines) + "\n"


def test_raw_check_passes_on_loaded_rows_and_reports_failures_with_count_and_sample(tmp_path):
    settings = make_settings(tmp_path)
    landing = settings.landing_dir / "oms" / "orders"
    landing.mkdir(parents=True)
    (landing / "2026-02-01.csv").write_text(_orders_csv(["web", "app", "store", "web"]))
    contract = get_contract("oms", "orders")
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)  # DuckDB creates the file only
    with duckdb.connect(str(settings.warehouse_path)) as conn:
        ingest_entity(conn, contract, settings.landing_dir)
        passed = run_raw_check(conn, contract, settings)
        assert passed.passed, passed.metadata["failures"].value
        assert passed.metadata["rows_validated"].value == 4
        assert "enforced on every row by ingestion" in passed.metadata["scope"].value

        # A row that slipped past ingestion (written by hand here) is caught by the second line.
        conn.execute(
            "insert into raw.oms__orders (order_id, email, channel, ordered_at, status, currency, subtotal_amount, "
            "discount_amount, shipping_amount, tax_amount, total_amount, shipping_country) "
            "values ('O9', 'z@x.io', 'teleport', '2026-02-01 10:00:00', 'placed', 'EUR', -5, 0, 0, 0, 0, 'DE')"
        )
        failed = run_raw_check(conn, contract, settings)
    assert not failed.passed
    assert failed.severity == dg.AssetCheckSeverity.WARN  # non-blocking
    failures = {(f["expectation"], f["column"]): f for f in failed.metadata["failures"].value}
    channel = failures[("expect_column_values_to_be_in_set", "channel")]
    assert channel["unexpected_count"] == 1 and channel["sample"] == ["teleport"]
    subtotal = failures[("expect_column_values_to_be_between", "subtotal_amount")]
    assert subtotal["unexpected_count"] == 1 and subtotal["sample"] == [-5.0]

    page = failed.metadata["validation_page"].value
    assert page.startswith("file://")
    html = open(page.removeprefix("file://")).read()
    assert "expect_column_values_to_be_in_set" in html and "teleport" in html and "FAILED" in html
    stored = json.loads(open(failed.metadata["validation_result"].value).read())
    assert stored["success"] is False


def test_raw_check_validates_a_bounded_sample(tmp_path, monkeypatch):
    import expectations.raw_suites as raw_suites

    monkeypatch.setattr(raw_suites, "RAW_SAMPLE_ROWS", 3)
    settings = make_settings(tmp_path)
    landing = settings.landing_dir / "oms" / "orders"
    landing.mkdir(parents=True)
    (landing / "2026-02-01.csv").write_text(_orders_csv(["web"] * 10))
    contract = get_contract("oms", "orders")
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)  # DuckDB creates the file only
    with duckdb.connect(str(settings.warehouse_path)) as conn:
        ingest_entity(conn, contract, settings.landing_dir)
        df = conn.execute(raw_suites.sample_query(contract, rows=3)).df()
        again = conn.execute(raw_suites.sample_query(contract, rows=3)).df()
    assert len(df) == 3
    assert df.order_id.tolist() == again.order_id.tolist()  # seeded: a re-run validates the same rows


@pytest.mark.slow
def test_feature_gate_compares_with_the_deployments_baseline_and_blocks_on_drift(pipeline_settings, tmp_path):
    from dagster_project.defs.checks.features import build_feature_check
    from dagster_project.feast_ext.feature_tables import feature_table_path

    data_dir = tmp_path / "data"
    shutil.copytree(pipeline_settings.data_dir, data_dir)
    settings = make_settings(data_dir)
    baseline_file = data_dir / "expectations" / "product_features.profile.json"
    baseline = json.loads(baseline_file.read_text())  # recorded by the session's first, passing run
    assert baseline["recorded_by"] == "first run" and baseline["entities"] > 0 and "price" in baseline["columns"]
    assert list((data_dir / "validation" / "product_features").glob("*.html")), "a validation page is stored"

    check = build_feature_check("product_features", settings)
    again = check(dg.build_op_context())
    assert again.passed, again.metadata["failures"].value
    assert "compared with the baseline" in again.metadata["baseline"].value
    rolled = json.loads(baseline_file.read_text())
    assert rolled["recorded_by"] == "passing run" and rolled["entities"] == baseline["entities"]

    # Half the products disappear (e.g. a broken join): fewer entities than the baseline allows.
    path = feature_table_path(settings, "product_features")
    df = pd.read_parquet(path)
    df.iloc[: len(df) // 2].to_parquet(path, index=False)
    dropped = check(dg.build_op_context())
    assert not dropped.passed
    [failure] = [f for f in dropped.metadata["failures"].value if f["rule"] == "entities"]
    assert failure["observed"] < failure["allowed"]["min"] and "fewer than the baseline" in failure["message"]
    assert "rcl baseline accept product_features" in dropped.metadata["to_accept"].value
    page = dropped.metadata["validation_page"].value.removeprefix("file://")
    assert "expect_table_row_count_to_be_between" in open(page).read()
    # a failing run does not become the baseline
    assert json.loads(baseline_file.read_text())["recorded_at"] == rolled["recorded_at"]


@pytest.mark.slow
def test_first_feature_validation_records_the_baseline(pipeline_settings, tmp_path):
    from dagster_project.defs.checks.features import build_feature_check

    data_dir = tmp_path / "data"
    shutil.copytree(pipeline_settings.features_dir, data_dir / "features")
    settings = make_settings(data_dir)
    result = build_feature_check("customer_features", settings)(dg.build_op_context())
    assert result.passed
    assert result.metadata["baseline"].value.startswith("first run: baseline recorded")
    assert (data_dir / "expectations" / "customer_features.profile.json").exists()


def test_validating_by_column_groups_gives_the_whole_frame_results():
    """expectations/runner.validate_dataframe validates each column group on its own narrow frame
    (GX copies the frame per expectation); failures, counts and samples are those of one
    validation of the whole frame (GX orders its results its own way; ours follow the suite),
    for a clean and a damaged feature table."""
    import numpy as np

    from expectations.runner import validate_dataframe

    rng = np.random.default_rng(3)
    n = 3000
    clean = pd.DataFrame({
        "product_id": [f"SKU-{i % 300:05d}" for i in range(n)],
        "event_timestamp": pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(n) // 300, unit="D"),
        "price": rng.uniform(1, 500, n).round(2),
        "category_level_1": rng.choice(["audio", "tv", "phones"], n),
        "brand": "Acme",
        "is_active": True,
        "avg_rating": np.where(rng.random(n) < 0.5, rng.uniform(1, 5, n), np.nan),
        "return_rate_90d": rng.uniform(0, 1, n),
        "view_to_order_rate_30d": rng.uniform(0, 1, n),
        **{c: rng.integers(0, 50, n) for c in ["product_views_7d", "add_to_carts_7d", "units_sold_30d", "review_count",
                                              "locations_in_stock"]},
    })
    clean["units_on_hand"] = rng.integers(10, 100, n)
    clean["units_available"] = clean["units_on_hand"] - rng.integers(0, 10, n)
    clean["stores_in_stock"] = np.minimum(clean["locations_in_stock"], rng.integers(0, 20, n))
    damaged = clean.copy()
    damaged.loc[5, "price"] = 0.0                                    # out of range
    damaged.loc[7:9, "units_available"] = 1000                      # A < B
    damaged.loc[11, ["product_id", "event_timestamp"]] = damaged.loc[12, ["product_id", "event_timestamp"]].values
    damaged.loc[17, "brand"] = "someone@example.com"                 # an email in clear text

    from expectations.suites import SUITES

    damaged.loc[13, "return_rate_90d"] = 1.5                          # a rate above 1
    for frame in (clean, damaged):
        suite = SUITES["product_features"](frame)  # built once: "not in the future" depends on the clock
        whole = validate_dataframe(frame, "product_features", suite=suite, by_columns=False)
        grouped = validate_dataframe(frame, "product_features", suite=suite, by_columns=True)
        assert (grouped.success, grouped.evaluated) == (whole.success, whole.evaluated)
        def failures(summary):
            return sorted((f.expectation, f.column or "", f.unexpected_count or 0, repr(f.unexpected_sample))
                          for f in summary.failed)

        def outcomes(summary):
            return sorted((r["expectation_config"]["type"],
                           repr(sorted((k, v) for k, v in r["expectation_config"]["kwargs"].items() if k != "batch_id")),
                           r["success"]) for r in summary.result_json["results"])

        assert failures(grouped) == failures(whole)
        assert outcomes(grouped) == outcomes(whole)
        assert grouped.result_json["statistics"]["evaluated_expectations"] == grouped.evaluated
    assert validate_dataframe(clean, "product_features").success
    failed = {(f.expectation, f.column) for f in validate_dataframe(damaged, "product_features").failed}
    assert failed == {("expect_column_values_to_be_between", "price"),
                      ("expect_column_values_to_be_between", "return_rate_90d"),
                      ("expect_column_values_to_not_match_regex", "brand"),
                      ("expect_column_pair_values_a_to_be_greater_than_b", None),
                      ("expect_compound_columns_to_be_unique", None)}


def test_the_gx_context_keeps_its_config_in_memory_and_gx_still_has_the_method_it_replaces():
    """expectations/runner.ephemeral_context replaces GX's `_save_project_config` (a YAML dump of
    the whole project config on every data source change) on its one context: a GX upgrade that
    renames it must fail here, not silently bring the cost back."""
    from great_expectations.data_context.data_context.abstract_data_context import AbstractDataContext
    from great_expectations.data_context.data_context.ephemeral_data_context import EphemeralDataContext

    from expectations.runner import ephemeral_context

    assert callable(getattr(AbstractDataContext, "_save_project_config", None))
    context = ephemeral_context()
    assert isinstance(context, EphemeralDataContext)
    saved = []
    context.variables.save = lambda: saved.append(True)  # what GX's own method would call
    source = context.data_sources.add_pandas("probe")
    source.add_dataframe_asset("frame")
    context.data_sources.delete("probe")
    assert saved == [], "GX saved the project config although the context replaces the method that does it"
    assert "probe" not in context.data_sources.all()
