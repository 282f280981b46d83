"""personalization_v2 and returns_risk_v1 on a real pipeline run: consent changes served online with
their as-of, point-in-time reads of the profile, consent and return tables that never see a later
event, and the request-time on-demand views through Feast's SDK (Redis online store)."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.conftest import REQUIRE_SERVICES, SCENARIO_DAYS, SERVICE_REDIS_URL, TEST_SCALE, _redis_available, make_settings

pytestmark = pytest.mark.slow

FEAST_PROJECT = "retail_context_personalization_test"


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _crm_ids_quiet_since(landing: Path, day: str, count: int) -> list[str]:
    """CRM records whose consent changes all happened before `day` (YYYY-MM-DD)."""
    last_change: dict[str, str] = {}
    for path in (landing / "crm" / "marketing_consents").glob("*.csv"):
        with path.open() as f:
            for row in csv.DictReader(f):
                last_change[row["crm_customer_id"]] = max(last_change.get(row["crm_customer_id"], ""), row["recorded_at"])
    return sorted(crm_id for crm_id, at in last_change.items() if at < day)[:count]


def _append_consents(day_file: Path, rows: list[dict]) -> None:
    """Rows added to a delivered day file in its own line endings."""
    text = day_file.read_bytes().decode()
    terminator = "\r\n" if "\r\n" in text else "\n"
    with day_file.open("a", newline="") as f:
        if not text.endswith(terminator):
            f.write(terminator)
        writer = csv.DictWriter(f, fieldnames=["consent_event_id", "crm_customer_id", "channel", "is_granted", "source", "recorded_at"],
                                lineterminator=terminator)
        writer.writerows(rows)


@pytest.fixture(scope="module")
def module_redis_url() -> str:
    """The shared Redis (REDIS_URL), for a module-scoped world; skipped or failed as conftest's redis_url."""
    problem = _redis_available(SERVICE_REDIS_URL)
    if problem:
        if REQUIRE_SERVICES:
            pytest.fail(f"{problem}; REQUIRE_SERVICES=1 makes it mandatory")
        pytest.skip(problem)
    return SERVICE_REDIS_URL


@pytest.fixture(scope="module")
def consent_world(tmp_path_factory, module_redis_url):
    """A shop of the session's scale over SCENARIO_DAYS days plus two customers' personalization
    consent changes: one opts out and later back in, the other opts in and later out. One full
    pipeline run, Redis online."""
    from dagster_project.pipeline import run_pipeline
    from dagster_project.sample_data.generator import generate

    data_dir = tmp_path_factory.mktemp("personalization")
    generate(data_dir / "landing", scale=TEST_SCALE, seed=7, days=SCENARIO_DAYS)
    landing = data_dir / "landing"
    day_files = sorted((landing / "crm" / "marketing_consents").glob("*.csv"))
    first_day, second_day = day_files[-8], day_files[-3]
    opt_out_at = f"{first_day.stem}T12:00:00Z"
    opt_in_at = f"{second_day.stem}T12:00:00Z"
    returning, leaving = _crm_ids_quiet_since(landing, first_day.stem, 2)

    def change(event_id, crm_id, granted, at):
        return {"consent_event_id": event_id, "crm_customer_id": crm_id, "channel": "personalization",
                "is_granted": "true" if granted else "false", "source": "account_page", "recorded_at": at}

    _append_consents(first_day, [change("MCTEST0001", returning, False, opt_out_at),
                                          change("MCTEST0002", leaving, True, opt_out_at)])
    _append_consents(second_day, [change("MCTEST0003", returning, True, opt_in_at),
                                           change("MCTEST0004", leaving, False, opt_in_at)])
    settings = make_settings(data_dir, online_store="redis", redis_url=module_redis_url, feast_project=FEAST_PROJECT)
    result = run_pipeline(settings, log_level="WARNING")
    assert result.success, "the pipeline run with the consent changes failed"
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        customer_of = dict(conn.execute(
            "select identifier_value, customer_id from intermediate.int_identities_stitched "
            "where identifier_type = 'crm_customer_id' and identifier_value in (?, ?)", [returning, leaving]).fetchall())
    assert len(set(customer_of.values())) == 2, "the two CRM records are one customer"
    return {
        "settings": settings,
        "returning": customer_of[returning],
        "leaving": customer_of[leaving],
        "opt_out_at": _utc(opt_out_at),
        "opt_in_at": _utc(opt_in_at),
    }


def _as_utc(value) -> datetime:
    value = pd.Timestamp(value)
    return (value.tz_localize("UTC") if value.tzinfo is None else value.tz_convert("UTC")).to_pydatetime()


def test_withdrawn_personalization_consent_is_served_with_its_as_of(consent_world):
    from dagster_project.feast_ext.repo import get_feature_store

    store = get_feature_store(consent_world["settings"])
    served = store.get_online_features(
        features=["customer_consent_features:personalization_consent", "customer_consent_features:personalization_consent_as_of"],
        entity_rows=[{"customer_id": consent_world["leaving"]}, {"customer_id": consent_world["returning"]}],
    ).to_dict()
    # the customer who opted in and then withdrew: served as withdrawn, as of the withdrawal
    assert served["personalization_consent"] == [False, True]
    assert [_as_utc(v) for v in served["personalization_consent_as_of"]] == [consent_world["opt_in_at"]] * 2


def test_training_set_between_opt_out_and_opt_in_sees_only_the_opt_out(consent_world):
    from dagster_project.feast_ext.offline_store import training_set

    customer = consent_world["returning"]
    out, back_in = consent_world["opt_out_at"], consent_world["opt_in_at"]
    label_times = [out - timedelta(hours=1), out + timedelta(hours=1), back_in - timedelta(hours=1), back_in + timedelta(hours=1)]
    entities = pd.DataFrame({"customer_id": [customer] * 4, "event_timestamp": label_times})
    result = training_set(consent_world["settings"], entities,
                          ["customer_consent_features:personalization_consent",
                           "customer_consent_features:personalization_consent_as_of"]).to_df()
    result = result.sort_values("event_timestamp").reset_index(drop=True)
    consent = [None if pd.isna(v) else bool(v) for v in result["personalization_consent"]]
    as_of = [None if pd.isna(v) else _as_utc(v) for v in result["personalization_consent_as_of"]]
    # before the opt-out: whatever was recorded earlier (if anything); the later opt-in is
    # invisible until it happens
    assert as_of[0] is None or as_of[0] < out
    assert consent[1:] == [False, False, True]
    assert as_of[1:] == [out, out, back_in]


def _changed_rows(settings, table: str, entity: str, column: str, limit: int = 20) -> pd.DataFrame:
    """Consecutive rows of the table where `column` changed: (entity, earlier and later time and value)."""
    path = settings.features_dir / f"{table}.parquet"
    with duckdb.connect() as conn:
        return conn.execute(f"""
            select * from (
                select {entity}, event_timestamp as later_at, {column} as later_value,
                       lag(event_timestamp) over w as earlier_at, lag({column}) over w as earlier_value,
                from read_parquet('{path}')
                window w as (partition by {entity} order by event_timestamp)
            )
            where earlier_value is not null and later_value is not null and later_value <> earlier_value
            order by {entity}, later_at
            limit {limit}
        """).df()


@pytest.mark.parametrize(("table", "entity", "column"), [
    ("customer_profile_features", "customer_id", "orders_365d"),
    ("customer_profile_features", "customer_id", "top_categories"),
    ("customer_return_features", "customer_id", "returns_lifetime"),
    ("product_return_features", "product_id", "units_returned_lifetime"),
])
def test_a_training_set_before_a_change_does_not_see_it(consent_world, table, entity, column):
    from dagster_project.feast_ext.offline_store import training_set

    changes = _changed_rows(consent_world["settings"], table, entity, column)
    assert len(changes) > 0, f"the sample shop has no change of {table}.{column} to test with"
    just_before = changes.assign(event_timestamp=changes["later_at"] - pd.Timedelta(seconds=1))
    just_after = changes.assign(event_timestamp=changes["later_at"] + pd.Timedelta(seconds=1))
    entities = pd.concat([just_before, just_after])[[entity, "event_timestamp"]].reset_index(drop=True)
    result = training_set(consent_world["settings"], entities, [f"{table}:{column}"]).to_df()
    got = {(row[entity], _as_utc(row["event_timestamp"])): row[column] for _, row in result.iterrows()}
    for _, change in changes.iterrows():
        before = _as_utc(change["later_at"] - pd.Timedelta(seconds=1))
        after = _as_utc(change["later_at"] + pd.Timedelta(seconds=1))
        assert got[(change[entity], before)] == change["earlier_value"], (change[entity], before)
        assert got[(change[entity], after)] == change["later_value"], (change[entity], after)


def test_profile_windows_equal_the_orders_they_count(consent_world):
    """orders_30d and days_since_last_order, recomputed independently from the orders mart."""
    settings = consent_world["settings"]
    path = settings.features_dir / "customer_profile_features.parquet"
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        rows, differing = conn.execute(f"""
            with profile as (select * from read_parquet('{path}')),
            expected as (
                select profile.customer_id, profile.feature_date,
                       count(orders.order_id) filter (where orders.order_date > profile.feature_date - 30) as orders_30d,
                       max(orders.order_date) as last_order_date,
                from profile
                left join marts.orders
                    on orders.customer_id = profile.customer_id and orders.order_date <= profile.feature_date
                   and not orders.is_cancelled
                group by profile.customer_id, profile.feature_date
            )
            select count(*),
                   count(*) filter (where expected.orders_30d <> profile.orders_30d
                                    or date_diff('day', expected.last_order_date, profile.feature_date)
                                       is distinct from profile.days_since_last_order),
            from profile join expected using (customer_id, feature_date)
        """).fetchone()
    assert rows > 0
    assert differing == 0


def test_request_time_features_are_served_through_the_sdk(consent_world):
    """personalization_v2 online with its on-demand views: recency at the request's time, the
    candidate's price against the customer's price band."""
    from dagster_project.feast_ext.repo import get_feature_store

    settings = consent_world["settings"]
    path = settings.features_dir / "customer_profile_features.parquet"
    with duckdb.connect() as conn:
        customer, last_session_at, price_band_median = conn.execute(f"""
            select customer_id, arg_max(last_session_at, event_timestamp), arg_max(price_band_median, event_timestamp)
            from read_parquet('{path}') group by customer_id
            having arg_max(last_session_at, event_timestamp) is not null and arg_max(price_band_median, event_timestamp) > 0
            order by customer_id limit 1
        """).fetchone()
        product, price = conn.execute(
            f"select product_id, arg_max(price, event_timestamp) from read_parquet('{settings.features_dir / 'product_features.parquet'}') "
            "group by product_id order by product_id limit 1").fetchone()
    request_time = _as_utc(last_session_at) + timedelta(hours=30)
    store = get_feature_store(settings)
    served = store.get_online_features(
        features=store.get_feature_service("personalization_v2"),
        entity_rows=[{"customer_id": customer, "product_id": product, "request_time": request_time}],
    ).to_dict()
    assert served["hours_since_last_session"] == [pytest.approx(30.0)]
    assert served["price_vs_typical_price"] == [pytest.approx(price / price_band_median)]
    assert served["personalization_consent"][0] in (True, False, None)
    assert served["price"] == [pytest.approx(price)]
    assert "cart_value_vs_typical_order" in served


def test_returns_risk_service_is_served_online(consent_world):
    from dagster_project.feast_ext.repo import get_feature_store

    settings = consent_world["settings"]
    with duckdb.connect() as conn:
        customer, returns_lifetime = conn.execute(
            f"select customer_id, arg_max(returns_lifetime, event_timestamp) "
            f"from read_parquet('{settings.features_dir / 'customer_return_features.parquet'}') "
            "group by customer_id order by 2 desc, customer_id limit 1").fetchone()
        product, units_sold = conn.execute(
            f"select product_id, arg_max(units_sold_lifetime, event_timestamp) "
            f"from read_parquet('{settings.features_dir / 'product_return_features.parquet'}') "
            "group by product_id order by 2 desc, product_id limit 1").fetchone()
    store = get_feature_store(settings)
    served = store.get_online_features(
        features=store.get_feature_service("returns_risk_v1"),
        entity_rows=[{"customer_id": customer, "product_id": product}],
    ).to_dict()
    assert served["returns_lifetime"] == [returns_lifetime]
    assert served["units_sold_lifetime"] == [units_sold]
    assert served["is_serial_returner"][0] in (True, False)
    assert 0.0 <= served["return_rate_defective"][0] <= 1.0
