"""The `rcl` console script: argument handling, and the summary of a real run."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from dagster_project.cli import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, RunSummary, SourceLine, parse_partition, summarize_run

RCL = Path(sys.executable).parent / "rcl"


def test_partition_arguments():
    assert parse_partition("2026-10-01") == ("2026-10-01", "2026-10-01")
    assert parse_partition("2026-10-01..2026-10-07") == ("2026-10-01", "2026-10-07")
    assert parse_partition(None) is None
    with pytest.raises(argparse.ArgumentTypeError, match="YYYY-MM-DD"):
        parse_partition("yesterday")
    with pytest.raises(argparse.ArgumentTypeError, match="before the first"):
        parse_partition("2026-10-07..2026-10-01")


def test_exit_codes_follow_what_was_published():
    healthy = RunSummary(sources=[SourceLine("oms__orders", status="loaded")], gates={"customer_features": True},
                         views_published=["customer_features"])
    assert healthy.exit_code == EXIT_OK
    source_down = RunSummary(sources=[SourceLine("wms__locations", status="failed", message="missing column")],
                             views_published=["customer_features"], views_held_back={"product_features": "x"})
    assert source_down.exit_code == EXIT_PARTIAL
    gate_blocked = RunSummary(gates={"customer_features": False}, views_held_back={"customer_features": "gate"})
    assert gate_blocked.exit_code == EXIT_PARTIAL
    broken = RunSummary(views_published=["customer_features"], views_missing={"product_features": "boom"})
    assert broken.exit_code == EXIT_ERROR
    assert "NOT PUBLISHED: product_features (boom)" in broken.render()


def test_the_compact_summary_lists_only_what_needs_a_look():
    clean = SourceLine("oms__orders", status="loaded", rows_read=10, rows_loaded=10, rows_quarantined=0,
                       duplicates_removed=0)
    messy = SourceLine("crm__customers", status="loaded", rows_read=10, rows_loaded=8, rows_quarantined=2,
                       duplicates_removed=0)
    down = SourceLine("wms__locations", status="failed", message="missing column city")
    summary = RunSummary(sources=[clean, messy, down], gates={"customer_features": True, "product_features": False},
                         views_published=["customer_features"], views_held_back={"product_features": "gate"},
                         partitions=["2026-07-04", "2026-07-05"])
    compact = summary.render(compact=True)
    assert "oms__orders" not in compact and "crm__customers" in compact and "missing column city" in compact
    assert "Sources: 1 of 3 loaded every row they read" in compact
    assert "Gates: 1 of 2 passed" in compact and "product_features: BLOCKED" in compact
    assert "customer_features: passed" not in compact and "customer_features: passed" in summary.render()
    assert "Partitions: 2 delivery days, 2026-07-04 to 2026-07-05" in compact


def test_console_script_is_installed_and_documents_its_flags():
    out = subprocess.run([str(RCL), "run", "--help"], capture_output=True, text=True, check=True).stdout
    for flag in ("--landing-dir", "--data-dir", "--partition"):
        assert flag in out


def test_a_missing_landing_folder_is_a_clear_error(tmp_path):
    proc = subprocess.run([str(RCL), "run", "--landing-dir", str(tmp_path / "nowhere"), "--data-dir", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == EXIT_ERROR
    assert "does not exist" in proc.stderr and "Traceback" not in proc.stderr


def test_a_bad_partition_is_a_usage_error(tmp_path):
    proc = subprocess.run([str(RCL), "run", "--partition", "2026-13-01", "--data-dir", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "--partition" in proc.stderr


@pytest.mark.slow
def test_summary_of_the_sessions_real_run(pipeline_settings, pipeline):
    _, result = pipeline
    summary = summarize_run(result)
    assert summary.exit_code == EXIT_OK, summary.render()
    from dagster_project.feast_ext.feature_tables import FEATURE_VIEWS

    assert sorted(summary.views_published) == sorted(FEATURE_VIEWS)
    assert all(passed for passed in summary.gates.values()) and len(summary.gates) == len(FEATURE_VIEWS)
    by_name = {s.name: s for s in summary.sources}
    assert len(by_name) == 13
    import duckdb

    with duckdb.connect(str(pipeline_settings.warehouse_path), read_only=True) as conn:
        for source in summary.sources:
            assert source.status == "loaded"
            assert source.rows_read == source.rows_loaded + source.rows_quarantined + source.duplicates_removed
            (loaded,) = conn.execute(
                f"select count(*) from raw.{source.name} where _source_file is not null").fetchone()
            assert loaded == source.rows_loaded, source.name
    text = summary.render()
    assert "oms__orders" in text and "Result: OK" in text


def test_baseline_without_a_feature_table_is_a_clear_error(tmp_path):
    proc = subprocess.run([str(RCL), "baseline", "accept", "product_features", "--data-dir", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == EXIT_ERROR
    assert "does not exist" in proc.stderr and "Traceback" not in proc.stderr
    shown = subprocess.run([str(RCL), "baseline", "show", "customer_features", "--data-dir", str(tmp_path)],
                           capture_output=True, text=True)
    assert shown.returncode == 1 and "no baseline" in shown.stdout


def test_the_demo_applies_its_worlds_settings_unless_the_environment_sets_them(monkeypatch):
    from dagster_project.demo import sample_world_settings

    for name in ("RCL_PHONE_COUNTRY_CODE", "RCL_PHONE_TRUNK_PREFIX", "RCL_PRICES_INCLUDE_TAX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RCL_SHOP_DOMAINS", "shop.example")
    settings = sample_world_settings()
    assert (settings.phone_country_code, settings.shop_domains) == ("49", "shop.example")
    # given to a child process as its environment (as `rcl` and dbt get them), they change nothing
    for name, value in settings.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RCL_PHONE_COUNTRY_CODE", "")
    assert sample_world_settings().phone_country_code == "49"
    monkeypatch.setenv("RCL_PHONE_COUNTRY_CODE", "44")
    assert sample_world_settings().phone_country_code == "44"
