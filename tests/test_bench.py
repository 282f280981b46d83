"""Fast tests of the benchmark machinery on tiny hand-made data (no timing assertions)."""

from __future__ import annotations

import hashlib
import json

import duckdb
import pandas as pd
import pytest

from bench import report
from bench.common import detail, median, null_detail, percentile
from bench.identity import score_identity
from bench.loadgen import summarize

SALT = "test-salt"


def _sha(text: str) -> str:
    return hashlib.sha256((SALT + text).encode()).hexdigest()


@pytest.fixture
def identity_files(tmp_path):
    """Ground truth: person A has 3 identifiers (email typed in caps, phone, cookie), person B 2,
    person C 1, plus a shared kiosk cookie. The warehouse merges A correctly except its cookie,
    and wrongly puts C's account into B's customer."""
    truth = pd.DataFrame(
        [
            ("A", "email", " Anna@Example.org "),
            ("A", "phone", "+49 (151) 123-456"),
            ("A", "anonymous_id", "cookie-a"),
            ("B", "oms_customer_id", "OMS1"),
            ("B", "crm_customer_id", "CRM1"),
            ("C", "oms_customer_id", "OMS2"),
            ("shared", "anonymous_id", "kiosk"),
        ],
        columns=["person_id", "identifier_type", "identifier_value"],
    )
    truth_path = tmp_path / "identities.parquet"
    truth.to_parquet(truth_path)
    warehouse = tmp_path / "warehouse.duckdb"
    conn = duckdb.connect(str(warehouse))
    conn.execute("create schema intermediate")
    conn.execute("create table intermediate.int_identities_stitched (identifier_type varchar, identifier_value varchar, customer_id varchar)")
    rows = [
        ("email_hash", _sha("anna@example.org"), "cus_a"),
        ("phone_hash", _sha("49151123456"), "cus_a"),
        ("anonymous_id", "cookie-a", "cus_x"),
        ("oms_customer_id", "OMS1", "cus_b"),
        ("crm_customer_id", "CRM1", "cus_b"),
        ("oms_customer_id", "OMS2", "cus_b"),
        ("anonymous_id", "kiosk", None),
    ]
    conn.executemany("insert into intermediate.int_identities_stitched values (?, ?, ?)", rows)
    conn.close()
    return warehouse, truth_path


def test_score_identity_pairwise(identity_files):
    warehouse, truth = identity_files
    score = score_identity(warehouse, truth, SALT)
    # true pairs: A has C(3,2)=3, B has 1 -> 4. predicted: cus_a 1 pair, cus_b C(3,2)=3 -> 4.
    # true positives: A's email+phone (1) and B's OMS1+CRM1 (1) -> 2
    assert score["true_pairs"] == 4
    assert score["predicted_pairs"] == 4
    assert score["true_positive_pairs"] == 2
    assert score["precision"] == pytest.approx(0.5)
    assert score["recall"] == pytest.approx(0.5)
    assert score["identifiers"] == 6  # the shared cookie is left out
    assert score["identifiers_stitched"] == 6


def test_score_identity_salt_matters(identity_files):
    warehouse, truth = identity_files
    score = score_identity(warehouse, truth, "another-salt")
    # hashes no longer match: email and phone are customers of their own
    assert score["identifiers_stitched"] == 4
    assert score["true_positive_pairs"] == 1


def test_identity_cli(identity_files, capsys):
    from bench.identity import main

    warehouse, truth = identity_files
    assert main(["--data-dir", str(warehouse.parent), "--ground-truth", str(truth), "--salt", SALT, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["precision"] == pytest.approx(0.5)


def test_percentile_and_summary():
    values = list(range(1, 101))  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 0) == 1 and percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None
    s = summarize([0.001] * 98 + [0.010, 0.020], errors=1, seconds=2.0)
    assert s["requests"] == 100 and s["errors"] == 1
    assert s["rps"] == pytest.approx(50.0)
    assert s["p50_ms"] == pytest.approx(1.0)
    assert 10.0 <= s["p99_ms"] <= 20.0
    assert s["max_ms"] == pytest.approx(20.0)
    assert median([3, None, 1, 2]) == 2


def test_detail_blocks():
    d = detail(1.2, baseline=3.0, unit="ratio", runs=[1.1, 1.2, 1.3], target=1.5, comparison="<=", note="n")
    assert d["meets_target"] is True and d["target"] == "<= 1.5"
    assert detail(0.2, unit="ratio", target=0.33, comparison=">=")["meets_target"] is False
    n = null_detail("not built yet", unit="ms", target=1000, comparison="<=")
    assert n["value"] is None and n["meets_target"] is None and n["reason"] == "not built yet"


def test_json_and_docs_writers(tmp_path):
    result = {
        "scale": "small", "runs": 3, "machine": {"cores": 2, "memory_gib": 24.0, "python": "3.11"},
        "measured_at": "2026-01-01T00:00:00Z",
        "build_vs_sql_ratio": 2.5,
        "build_vs_sql_ratio_detail": detail(2.5, unit="ratio", target=1.5, comparison="<=",
                                            note=f"work dir {report.REPO_ROOT}/x"),
        "push_to_online_p99_ms": None,
        "push_to_online_p99_ms_detail": null_detail("no push source", unit="ms", target=1000, comparison="<="),
        "odd": float("nan"),
    }
    path = report.write_json(result, tmp_path / "latest.json")
    loaded = report.read_json(path)
    assert loaded["odd"] is None
    assert str(report.REPO_ROOT) not in path.read_text()  # machine paths are not written
    assert loaded["build_vs_sql_ratio_detail"]["meets_target"] is False

    docs = tmp_path / "benchmarks.md"
    docs.write_text(f"# Benchmarks\n\nintro\n\n{report.TABLE_BEGIN}\nold\n{report.TABLE_END}\n\nafter\n")
    report.write_docs(loaded, docs)
    text = docs.read_text()
    assert "intro" in text and "after" in text and "old" not in text
    assert "| `build_vs_sql_ratio` | 2.50 | ≤ 1.5 | **no** |" in text
    assert "| `push_to_online_p99_ms` | null | ≤ 1000 | n/a |" in text
    report.write_docs(loaded, docs)  # idempotent
    assert docs.read_text() == text


def test_baseline_dependency_order():
    from bench.baseline import dependency_order

    models = {
        "model.p.c": {"depends_on": {"nodes": ["model.p.b", "source.p.x"]}},
        "model.p.a": {"depends_on": {"nodes": []}},
        "model.p.b": {"depends_on": {"nodes": ["model.p.a"]}},
    }
    assert dependency_order(models) == ["model.p.a", "model.p.b", "model.p.c"]


def test_built_data_dir_is_for_the_feast_group_of_a_built_dir_only(tmp_path, capsys):
    from bench.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["--only", "build", "--built-data-dir", str(tmp_path), "--no-docs", "--out", str(tmp_path / "o.json")])
    assert exc.value.code == 2 and "feast group only" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["--only", "feast", "--built-data-dir", str(tmp_path), "--no-docs", "--out", str(tmp_path / "o.json")])
    assert exc.value.code == 2 and "build it first" in capsys.readouterr().err


def test_the_services_bench_reads_every_service_of_a_built_data_dir(pipeline_settings, tmp_path, monkeypatch):
    """bench/services.py on the session's build: every service read online with a value, every
    service with a label recipe built into a training set of its label rows; the data dir untouched
    (pipeline_settings fails the test if it changed)."""
    import json

    from bench.services import main
    from conftest import use_settings_env

    use_settings_env(monkeypatch, pipeline_settings)  # the build's Feast project and stores
    out = tmp_path / "services.json"
    assert main(["--data-dir", str(pipeline_settings.data_dir), "--calls", "3", "--out", str(out)]) == 0
    services = json.loads(out.read_text())["services"]
    assert {"personalization_v2", "product_content_v2", "cart_recovery_v2", "availability_v1", "returns_risk_v1",
            "content_variants_v1"} <= set(services)
    for name, entry in services.items():
        assert entry["online_sdk_calls"] == 3 and entry["online_non_null"] > 0, name
        if "label_rows" in entry:
            assert entry["training_rows"] == entry["label_rows"] > 0, name
    assert sum("training_rows" in e for e in services.values()) >= 6
