"""The served-context log: each read served over HTTP is written to Parquet with its request id,
feature service, entity keys, and the values, statuses and event times the client got; an
analyst finds a generated text's data by the request id with DuckDB."""

from __future__ import annotations

import json

import duckdb

from dagster_project.serving.served_log import ServedContextLog
from test_serving_support import build_served_world, column, post, running_server


def test_every_read_is_logged_with_what_was_served(tmp_path):
    settings = build_served_world(tmp_path / "data")
    log_dir = tmp_path / "served"
    with running_server(settings, served_log=ServedContextLog(log_dir, sample_rate=1.0, flush_rows=2)) as port:
        status, answer = post(port, "/get-online-features",
                              {"feature_service": "cart_recovery_v1", "entities": {"customer_id": ["cus_a", "cus_x"]}},
                              headers={"X-Request-Id": "email-4711"})
        assert status == 200
        for _ in range(2):  # more reads, without a caller's id (the server makes one)
            assert post(port, "/get-online-features", {"features": ["product_features:price"],
                                                       "entities": {"product_id": ["SKU-1"]}})[0] == 200
    # stopping the server flushed what was left
    rows = duckdb.connect().execute(
        f"select request_id, feature_service, features, entities, \"values\", statuses, event_timestamps "
        f"from read_parquet('{log_dir}/*.parquet') order by served_at").fetchall()
    assert len(rows) == 3
    request_id, service, features, entities, values, statuses, times = rows[0]
    assert (request_id, service) == ("email-4711", "cart_recovery_v1")
    assert "cart_features:cart_value" in features and "customer_features:orders_lifetime" in features
    assert json.loads(entities) == {"customer_id": ["cus_a", "cus_x"]}
    assert json.loads(values)["cart_value"] == column(answer, "cart_value")["values"] == [99.5, None]
    assert json.loads(statuses)["cart_value"] == ["PRESENT", "NOT_FOUND"]
    assert json.loads(times)["cart_value"] == column(answer, "cart_value")["event_timestamps"]
    assert rows[1][1] is None and len(rows[1][0]) == 32 and rows[1][0] != rows[2][0]
    assert not list(log_dir.glob(".*.tmp"))


def test_sampling_keeps_a_share_and_zero_keeps_none(tmp_path):
    from datetime import datetime, timezone

    response = {"metadata": {"feature_names": ["customer_id", "orders_lifetime"]},
                "results": [{"values": ["c"]}, {"values": [1], "statuses": ["PRESENT"], "event_timestamps": ["t"]}]}
    now = datetime.now(timezone.utc)
    half = ServedContextLog(tmp_path / "half", sample_rate=0.5)
    none = ServedContextLog(tmp_path / "none", sample_rate=0.0)
    for i in range(2000):
        half.record(str(i), None, ["customer_features:orders_lifetime"], {"customer_id": ["c"]}, response, now)
        none.record(str(i), None, ["customer_features:orders_lifetime"], {"customer_id": ["c"]}, response, now)
    assert half.flush() is not None and none.flush() is None
    kept = duckdb.connect().execute(f"select count(*) from read_parquet('{tmp_path}/half/*.parquet')").fetchone()[0]
    assert 800 < kept < 1200
