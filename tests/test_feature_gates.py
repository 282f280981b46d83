"""The feature-table gates judge by the deployment's own data (fast tier: small Parquet tables in
tmp_path, no pipeline): a retailer unlike the sample shop passes its first run and records a
baseline; a later drift blocks with expectation, column, amount, sample rows and the accept
command; accepting lets it pass; invariants block from the first run on; overrides pin, widen
or disable per deployment."""

from __future__ import annotations

import hashlib
import json

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from dagster_project.feast_ext.feature_tables import feature_table_path
from expectations.baseline import accept_baseline, main as baseline_main
from expectations.gate import run_gate
from expectations.profile import baseline_path, parse_overrides

from conftest import duck, make_settings

pytestmark = pytest.mark.heavy  # tens of seconds in all: run early in its tier (tests/conftest.py)

DAYS = pd.date_range("2026-03-01", periods=3, freq="D")


def _customer_id(i: int) -> str:
    return "cus_" + hashlib.sha256(str(i).encode()).hexdigest()[:16]


def heavy_machinery_tables(seed: int = 1) -> dict[str, pd.DataFrame]:
    """A dealer of construction machines: orders around 80,000, shipping around 900, no web
    analytics (no devices, no views), no reviews."""
    rng = np.random.default_rng(seed)
    n_customers, n_products = 300, 120
    customers = []
    for i in range(n_customers):
        for day in DAYS:
            orders = int(rng.integers(0, 4))
            revenue = float(orders * rng.uniform(60_000, 100_000))
            customers.append({
                "customer_id": _customer_id(i), "event_timestamp": day + pd.Timedelta(days=1), "feature_date": day.date(),
                "orders_lifetime": orders, "revenue_lifetime": revenue, "avg_order_value": revenue / orders if orders else 0.0,
                "orders_90d": orders, "revenue_90d": revenue, "units_returned_lifetime": 0,
                "return_rate": float(rng.uniform(0, 0.05)) if orders else None,
                "product_views_30d": 0, "add_to_carts_30d": 0, "searches_30d": 0,
                "support_tickets_90d": int(rng.integers(0, 3)), "email_opens_90d": int(rng.integers(0, 5)),
                "email_clicks_90d": int(rng.integers(0, 2)), "days_since_first_seen": int(rng.integers(0, 400)),
                "favourite_category": rng.choice(["excavators", "loaders", "cranes"]) if orders else None,
                "preferred_device": None,
            })
    products = []
    for i in range(n_products):
        price = float(round(rng.uniform(5_000, 150_000), 2))
        for day in DAYS:
            on_hand = int(rng.integers(0, 6))
            available = int(rng.integers(0, on_hand + 1))
            products.append({
                "product_id": f"MX-{i:05d}", "event_timestamp": day + pd.Timedelta(days=1), "feature_date": day.date(),
                "price": price, "category_level_1": ["excavators", "loaders", "cranes"][i % 3], "brand": f"brand{i % 7}",
                "is_active": bool(i % 10), "product_views_7d": 0, "add_to_carts_7d": 0,
                "units_sold_30d": int(rng.integers(0, 3)), "revenue_30d": float(rng.uniform(0, 200_000)),
                "view_to_order_rate_30d": None, "return_rate_90d": float(rng.uniform(0, 0.1)),
                "review_count": 0, "avg_rating": None, "units_on_hand": on_hand, "units_available": available,
                "locations_in_stock": 1 if available else 0, "stores_in_stock": 0, "is_in_stock": available > 0,
            })
    carts = [{
        "customer_id": _customer_id(i), "event_timestamp": DAYS[-1] + pd.Timedelta(hours=i % 20, minutes=i % 60),
        "cart_id": f"C{i}", "cart_value": float(rng.uniform(50_000, 120_000)), "cart_items": int(rng.integers(1, 3)),
        "cart_checkout_step": int(rng.integers(0, 5)), "cart_shipping_amount_seen": float(rng.uniform(850, 950)),
        "cart_ordered": bool(i % 3 == 0), "cart_device": None,
    } for i in range(200)]
    frames = {"customer_features": pd.DataFrame(customers), "product_features": pd.DataFrame(products),
              "cart_features": pd.DataFrame(carts)}
    for name in ("customer_features", "product_features"):
        frames[name]["preferred_device" if name == "customer_features" else "avg_rating"] = (
            frames[name]["preferred_device" if name == "customer_features" else "avg_rating"].astype(
                "string" if name == "customer_features" else "float64"))
    frames["product_features"]["view_to_order_rate_30d"] = frames["product_features"]["view_to_order_rate_30d"].astype("float64")
    frames["cart_features"]["cart_device"] = frames["cart_features"]["cart_device"].astype("string")
    return frames


def write(settings, table: str, frame: pd.DataFrame) -> None:
    path = feature_table_path(settings, table)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)


@pytest.fixture
def deployment(tmp_path):
    settings = make_settings(tmp_path / "data")
    frames = heavy_machinery_tables()
    for table, frame in frames.items():
        write(settings, table, frame)
    return settings, frames


def test_a_retailer_unlike_the_sample_passes_its_first_run_and_records_a_baseline(deployment):
    settings, frames = deployment
    for table in frames:
        outcome = run_gate(settings, table)
        assert outcome.passed, [f["message"] for f in outcome.failures]
        assert outcome.baseline.startswith("first run: baseline recorded"), outcome.baseline
        assert baseline_path(settings.data_dir / "expectations", table).exists()
    # features of sources this deployment does not deliver are reported, not failed
    customers = run_gate(settings, "customer_features")
    assert customers.passed and "preferred_device" in customers.null_columns
    assert "compared with the baseline" in customers.baseline and "rolled forward" in customers.baseline
    products = run_gate(settings, "product_features")
    assert products.passed and {"avg_rating", "view_to_order_rate_30d"} <= set(products.null_columns)
    profile = json.loads(baseline_path(settings.expectations_path, "product_features").read_text())
    assert profile["entities"] == 120 and profile["rows"] == 360
    assert profile["columns"]["price"]["p50"] > 20_000          # this business's prices, not the sample's
    assert profile["columns"]["avg_rating"]["values"] == 0
    assert profile["recorded_by"] == "passing run"
    carts = json.loads(baseline_path(settings.expectations_path, "cart_features").read_text())
    assert 850 <= carts["columns"]["cart_shipping_amount_seen"]["p50"] <= 950


def test_a_later_drift_blocks_with_amount_sample_rows_and_the_accept_command_then_accepting_passes(deployment):
    settings, frames = deployment
    assert run_gate(settings, "product_features").passed  # baseline
    recorded = baseline_path(settings.expectations_path, "product_features").read_text()

    products = frames["product_features"]
    write(settings, "product_features", products.assign(price=products.price * 100))   # cents instead of euros
    blocked = run_gate(settings, "product_features")
    assert not blocked.passed
    [price] = [f for f in blocked.failures if f["column"] == "price"]
    assert price["gate"] == "profile" and price["expectation"] == "expect_column_quantile_values_to_be_between"
    assert price["by"]["p50"]["spreads"] > 10               # by how much, in the baseline's own spread
    assert price["observed"]["p50"] == pytest.approx(100 * json.loads(recorded)["columns"]["price"]["p50"])
    assert "of price is" in price["message"] and "p50 " in price["message"] and "spread" in price["message"]
    assert "rcl baseline accept product_features" in price["to_accept"]
    assert "python -m expectations.baseline accept --table product_features" in blocked.accept
    assert len(price["sample_rows"]) == 5 and {"product_id", "event_timestamp", "price"} <= set(price["sample_rows"][0])
    assert price["sample_rows"][0]["price"] == products.price.max() * 100   # the rows that moved most
    assert "profile drift, baseline kept" in blocked.baseline
    assert baseline_path(settings.expectations_path, "product_features").read_text() == recorded  # not rolled forward

    accepted = accept_baseline(settings, "product_features")
    assert any(line.startswith("price: p50") for line in accepted["changes"])
    assert (settings.expectations_path / "product_features.profile.previous.json").read_text() == recorded
    again = run_gate(settings, "product_features")
    assert again.passed, [f["message"] for f in again.failures]


def test_a_source_that_stops_delivering_is_drift_but_one_never_delivered_is_not(deployment):
    settings, frames = deployment
    assert run_gate(settings, "customer_features").passed
    customers = frames["customer_features"]
    write(settings, "customer_features", customers.assign(return_rate=np.nan, favourite_category=None))
    blocked = run_gate(settings, "customer_features")
    assert not blocked.passed
    failed = {f["column"]: f for f in blocked.failures}
    assert failed["return_rate"]["rule"] == "null_rate" and failed["return_rate"]["observed"] == 1.0
    assert "did a source stop delivering" in failed["return_rate"]["message"]
    assert failed["return_rate"]["by"] > 0.3
    assert failed["return_rate"]["sample_rows"] and failed["return_rate"]["sample_rows"][0]["return_rate"] is None
    assert "preferred_device" not in failed          # entirely null in the baseline too


@pytest.mark.parametrize("table, damage, column, rule", [
    ("customer_features", lambda df: df.assign(orders_90d=df.orders_90d.where(df.index != 7, -1)), "orders_90d", "non_negative"),
    ("customer_features", lambda df: pd.concat([df, df.iloc[[3]]]), None, "unique"),
    ("customer_features", lambda df: df.assign(return_rate=df.return_rate.where(df.index != 4, 1.5)), "return_rate", "rate"),
    ("customer_features", lambda df: df.assign(customer_id=df.customer_id.where(df.index != 5, "jane@example.com")),
     "customer_id", "no_pii"),
    ("product_features", lambda df: df.assign(product_id=df.product_id.where(df.index != 2, "bob@example.org")),
     "product_id", "no_pii"),
    ("product_features", lambda df: df.assign(brand=df.brand.where(df.index != 2, "+49 170 1234567")), "brand", "no_pii"),
    ("product_features", lambda df: df.assign(price=df.price.where(df.index != 9, 0.0)), "price", "positive"),
    ("cart_features", lambda df: df.assign(event_timestamp=df.event_timestamp.where(df.index != 1, pd.Timestamp("2099-01-01"))),
     "event_timestamp", "not_future"),
])
def test_invariants_block_from_the_first_run_on(deployment, table, damage, column, rule):
    settings, frames = deployment
    write(settings, table, damage(frames[table]).reset_index(drop=True))
    outcome = run_gate(settings, table)
    assert not outcome.passed
    assert outcome.baseline.startswith("first run: no baseline yet, and none recorded")
    assert not baseline_path(settings.expectations_path, table).exists()
    assert {f["gate"] for f in outcome.failures} == {"invariant"}
    [failure] = [f for f in outcome.failures if f["rule"] == rule]   # an email as customer_id also breaks its format
    assert failure["column"] == column
    assert failure["unexpected_count"] >= 1 and failure["sample_rows"]
    assert "cannot be accepted" in failure["to_accept"]


def test_an_empty_table_is_a_source_not_delivered_until_it_had_rows(deployment):
    settings, frames = deployment
    carts = frames["cart_features"]
    write(settings, "cart_features", carts.iloc[:0])        # a shop without web analytics has no carts
    empty = run_gate(settings, "cart_features")
    assert empty.passed and any(n.startswith("the table is empty (source not delivered?)") for n in empty.notes)
    write(settings, "cart_features", carts)
    assert run_gate(settings, "cart_features").passed      # the source arrives: no baseline entities to fall short of
    write(settings, "cart_features", carts.iloc[:0])
    gone = run_gate(settings, "cart_features")
    assert not gone.passed
    [failure] = gone.failures
    assert failure["rule"] == "entities" and failure["observed"] == 0 and failure["baseline"] == 200


def test_overrides_pin_widen_and_disable_per_deployment(deployment):
    settings, frames = deployment
    overrides = settings.expectations_path / "product_features.overrides.yml"
    overrides.parent.mkdir(parents=True)
    overrides.write_text("columns:\n  price:\n    max: 100000\n")
    pinned = run_gate(settings, "product_features")
    assert not pinned.passed  # pinned bounds apply from the first run on, on every row
    [failure] = pinned.failures
    assert (failure["gate"], failure["column"]) == ("pinned", "price")
    assert all(row["price"] > 100_000 for row in failure["sample_rows"])

    overrides.write_text("columns:\n  price:\n    disable: [quantiles]\n")
    assert run_gate(settings, "product_features").passed
    products = frames["product_features"]
    write(settings, "product_features", products.assign(price=products.price * 100))
    assert run_gate(settings, "product_features").passed   # the team turned that comparison off

    overrides.write_text("columns:\n  price:\n    quantile_spread: 2\n")
    with pytest.raises(ValueError, match=r"product_features.overrides.yml: columns.price: unknown key\(s\) \['quantile_spread'\]"):
        run_gate(settings, "product_features")


def test_roll_forward_false_keeps_comparing_with_the_recorded_baseline(deployment):
    settings, frames = deployment
    (settings.expectations_path).mkdir(parents=True)
    (settings.expectations_path / "cart_features.overrides.json").write_text(json.dumps({"roll_forward": False}))
    assert run_gate(settings, "cart_features").passed
    recorded = baseline_path(settings.expectations_path, "cart_features").read_text()
    second = run_gate(settings, "cart_features")
    assert second.passed and "baseline kept (roll_forward: false" in second.baseline
    assert baseline_path(settings.expectations_path, "cart_features").read_text() == recorded


def test_the_example_overrides_file_is_valid():
    from pathlib import Path

    import expectations

    example = parse_overrides(Path(expectations.__file__).parent / "example.overrides.yml")
    assert example.column("price")["max"] == 20000
    assert example.tolerances_for("price").quantile_spreads == 1.0
    assert example.disabled("brand", "values") and not example.disabled("brand", "null_rate")


def test_the_dagster_check_reports_first_run_and_drift_with_the_accept_command(deployment, monkeypatch):
    from dagster_project.defs.checks.features import build_feature_check

    settings, frames = deployment
    check = build_feature_check("cart_features", settings)
    first = check(dg.build_op_context())
    assert first.passed and first.metadata["baseline"].value.startswith("first run: baseline recorded")
    assert first.metadata["null_columns"].value == {"cart_device": "null: source not delivered?"}

    carts = frames["cart_features"]
    write(settings, "cart_features", carts.assign(cart_shipping_amount_seen=carts.cart_shipping_amount_seen * 10))
    drift = check(dg.build_op_context())
    assert not drift.passed and drift.severity == dg.AssetCheckSeverity.ERROR
    [failure] = drift.metadata["failures"].value
    assert failure["column"] == "cart_shipping_amount_seen"
    assert "rcl baseline accept cart_features" in drift.metadata["to_accept"].value

    # the Python entry point behind `rcl baseline accept`
    monkeypatch.setenv("RCL_DATA_DIR", "unused")
    monkeypatch.delenv("RCL_EXPECTATIONS_DIR", raising=False)
    assert baseline_main(["accept", "--table", "cart_features", "--data-dir", str(settings.data_dir)]) == 0
    assert check(dg.build_op_context()).passed


def test_dbt_duckdbs_placeholder_row_of_an_empty_feature_table_reads_as_empty(tmp_path):
    """An `external` model whose query returned nothing is written as one all-null row (to keep
    the file's schema): the gate and the publish see an empty table, not a row of nulls."""
    from dagster_project.feast_ext.feature_tables import feature_table_is_empty
    from expectations.profile import read_frame

    placeholder, real, none = tmp_path / "placeholder.parquet", tmp_path / "real.parquet", tmp_path / "none.parquet"
    duck(f"copy (select null::varchar as customer_id, null::timestamp as event_timestamp) to '{placeholder}'")
    duck(f"copy (select 'cus_1' as customer_id, null::timestamp as event_timestamp) to '{real}'")
    duck(f"copy (select 'cus_1' as customer_id, now()::timestamp as event_timestamp where false) to '{none}'")
    assert feature_table_is_empty(placeholder) and feature_table_is_empty(none)
    assert not feature_table_is_empty(real)
    assert len(read_frame(placeholder)) == 0 and list(read_frame(placeholder).columns) == ["customer_id", "event_timestamp"]
    assert len(read_frame(real)) == 1


def test_the_dagster_check_withholds_the_ids_of_people_in_sample_rows():
    """Dagster keeps a check's metadata in its run history, out of a deletion's reach: sample rows
    keep values, times and product keys, never a customer, order, cart or cookie id."""
    from dagster_project.defs.checks.features import WITHHELD, without_person_ids

    failures = [{"message": "m", "to_accept": "", "sample_rows": [
        {"customer_id": "cus_1", "order_id": "O1", "event_timestamp": "2026-01-01", "revenue_lifetime": -1.0},
        {"customer_id": None, "product_id": "SKU-1", "cart_id": "ct_1", "price": 0.0}]}, {"message": "no rows"}]
    safe = without_person_ids(failures)
    assert safe[0]["sample_rows"] == [
        {"customer_id": WITHHELD, "order_id": WITHHELD, "event_timestamp": "2026-01-01", "revenue_lifetime": -1.0},
        {"customer_id": None, "product_id": "SKU-1", "cart_id": WITHHELD, "price": 0.0}]
    assert safe[1] == {"message": "no rows", "sample_rows": []}
    assert failures[0]["sample_rows"][0]["customer_id"] == "cus_1"  # the gate's own outcome is unchanged
