"""product_content_features (Feast view of product_content_v2): point in time, what it is
built from, and its sparse storage.

A product's values through a day become known at the midnight after it: a training row at any
instant of the day a review, return or order happens must not see it; a row at that midnight
must. The expected values are counted here straight from the warehouse, independently of the
model."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pandas as pd
import pytest

from dagster_project.feast_ext.feature_tables import feature_table_path
from dagster_project.feast_ext.offline_store import training_set

pytestmark = pytest.mark.slow


def _warehouse(settings):
    return duckdb.connect(str(settings.warehouse_path), read_only=True)


def _five_star_reviews_on_later_days(settings, limit: int = 8) -> pd.DataFrame:
    """Products with a 5-star review on a day after their first one: (product_id, day)."""
    with _warehouse(settings) as conn:
        return conn.execute(
            """
            select product_id, cast(submitted_at as date) as review_day
            from staging.stg_pim__reviews
            where rating = 5
            qualify cast(submitted_at as date) > min(cast(submitted_at as date)) over (partition by product_id)
            order by product_id, review_day
            limit ?
            """,
            [limit],
        ).df()


def _five_star_reviews_before(settings, product_id: str, instant) -> int:
    with _warehouse(settings) as conn:
        return conn.execute(
            "select count(*) from staging.stg_pim__reviews where product_id = ? and rating = 5 and submitted_at < ?",
            [product_id, instant],
        ).fetchone()[0]


def test_a_review_is_not_seen_before_the_midnight_after_its_day(pipeline_settings):
    settings = pipeline_settings
    reviewed = _five_star_reviews_on_later_days(settings)
    assert len(reviewed) >= 3, "the sample has too few repeat 5-star reviews for this test"
    rows = []
    for product_id, day in reviewed.itertuples(index=False):
        midnight_after = pd.Timestamp(day) + timedelta(days=1)
        rows.append({"product_id": product_id, "event_timestamp": midnight_after - timedelta(seconds=1), "known": "before"})
        rows.append({"product_id": product_id, "event_timestamp": midnight_after, "known": "after"})
    entity_df = pd.DataFrame(rows)
    entity_df["event_timestamp"] = pd.to_datetime(entity_df["event_timestamp"], utc=True)
    result = training_set(settings, entity_df[["product_id", "event_timestamp"]],
                          ["product_content_features:reviews_5_star"]).to_df()
    result = result.merge(entity_df, on=["product_id", "event_timestamp"])
    for row in result.itertuples(index=False):
        # everything submitted before the label's day began (a row stamped at the label's
        # instant counts), nothing of the day under way
        day_start = row.event_timestamp.tz_convert(None).normalize().to_pydatetime()
        expected = _five_star_reviews_before(settings, row.product_id, day_start)
        assert row.reviews_5_star == expected, (row.product_id, row.event_timestamp, row.known)
    # the later review changes the feature, and only the row at its midnight sees it
    by_product = result.pivot_table(index="product_id", columns="known", values="reviews_5_star")
    assert (by_product["after"] > by_product["before"]).all()


def test_co_purchases_and_return_reasons_are_counted_up_to_the_day(pipeline_settings):
    """The top co-purchased product and return reason at a training time equal what the
    warehouse's orders and returns before that day's start give."""
    settings = pipeline_settings
    path = feature_table_path(settings, "product_content_features")
    with _warehouse(settings) as conn:
        sample = conn.execute(
            f"""
            select product_id, event_timestamp + interval 1 hour as label_time,
                   co_purchased_product_1, co_purchased_product_1_orders,
                   top_return_reason_1, top_return_reason_1_share,
            from read_parquet('{path}')
            where co_purchased_product_1 is not null and top_return_reason_1 is not null
            order by hash(product_id, event_timestamp) limit 10
            """
        ).df()
        assert len(sample) >= 3
        for row in sample.itertuples(index=False):
            cutoff = row.label_time.normalize().to_pydatetime()
            orders = conn.execute(
                """
                select count(distinct a.order_id) from marts.order_lines a
                inner join marts.order_lines b on a.order_id = b.order_id
                where a.product_id = ? and b.product_id = ? and not a.is_cancelled and a.order_date < ?
                """, [row.product_id, row.co_purchased_product_1, cutoff]).fetchone()[0]
            assert orders == row.co_purchased_product_1_orders, row.product_id
            reasons = conn.execute(
                """
                select coalesce(return_reason, 'unknown') as reason, sum(quantity) as units
                from staging.stg_oms__returns
                where product_id = ? and cast(requested_at as date) < ?
                group by all order by units desc, reason
                """, [row.product_id, cutoff]).fetchall()
            assert reasons[0][0] == row.top_return_reason_1, row.product_id
            assert reasons[0][1] / sum(units for _, units in reasons) == pytest.approx(row.top_return_reason_1_share)
    entity_df = sample[["product_id", "label_time"]].rename(columns={"label_time": "event_timestamp"})
    read = training_set(settings, entity_df, ["product_content_features:co_purchased_product_1",
                                              "product_content_features:top_return_reason_1"]).to_df()
    merged = read.merge(sample, left_on=["product_id", "event_timestamp"], right_on=["product_id", "label_time"],
                        suffixes=("", "_table"))
    assert len(merged) == len(sample)
    assert (merged["co_purchased_product_1"] == merged["co_purchased_product_1_table"]).all()


def test_rows_are_stored_only_on_change_or_heartbeat(pipeline_settings):
    path = feature_table_path(pipeline_settings, "product_content_features")
    with _warehouse(pipeline_settings) as conn:
        products, rows, days, max_gap = conn.execute(
            f"""
            select count(distinct product_id), count(*),
                   date_diff('day', min(feature_date), max(feature_date)) + 1,
                   max(gap)
            from (select *, date_diff('day', lag(feature_date) over (partition by product_id order by feature_date),
                                      feature_date) as gap
                  from read_parquet('{path}'))
            """
        ).fetchone()
        duplicates = conn.execute(
            f"select count(*) - count(distinct (product_id, event_timestamp)) from read_parquet('{path}')").fetchone()[0]
    from feature_repo.product_content import product_content_features

    assert duplicates == 0
    assert rows < products * days, "a row per product and day: nothing was thinned"
    assert max_gap < product_content_features.ttl.days, "a point-in-time read would fall outside the TTL"


def test_bands_follow_the_deployments_own_catalogue(pipeline_settings):
    """Each price band holds about a third of a category's products on a day (no fixed amounts),
    and every product with a cost delivered has a margin band."""
    path = feature_table_path(pipeline_settings, "product_content_features")
    with _warehouse(pipeline_settings) as conn:
        day = conn.execute(f"select max(event_timestamp) from read_parquet('{path}')").fetchone()[0]
        latest = conn.execute(
            f"""
            select content.price_band, content.margin_band, products.cost
            from (select * from read_parquet('{path}') qualify row_number() over (partition by product_id order by event_timestamp desc) = 1) as content
            inner join marts.products using (product_id)
            """
        ).df()
    assert day is not None
    shares = latest["price_band"].value_counts(normalize=True)
    assert set(shares.index) == {"low", "mid", "high"}
    assert all(0.2 < share < 0.45 for share in shares), shares.to_dict()
    with_cost = latest[latest["cost"].notna()]
    assert len(with_cost) > 0 and with_cost["margin_band"].notna().all()
    assert latest.loc[latest["cost"].isna(), "margin_band"].isna().all()


def test_product_content_v2_serves_each_products_latest_row_online(pipeline_settings):
    from dagster_project.feast_ext.repo import get_feature_store

    path = feature_table_path(pipeline_settings, "product_content_features")
    with _warehouse(pipeline_settings) as conn:
        latest = conn.execute(
            f"""
            select * from read_parquet('{path}')
            qualify row_number() over (partition by product_id order by event_timestamp desc) = 1
            order by product_id limit 5
            """
        ).df()
    store = get_feature_store(pipeline_settings)
    online = store.get_online_features(
        features=store.get_feature_service("product_content_v2"),
        entity_rows=[{"product_id": p} for p in latest["product_id"]],
    ).to_dict()
    for name in ("product_name", "specs_json", "price_band", "units_sold_7d", "funnel_purchases_30d", "reviews_5_star"):
        assert online[name] == [None if pd.isna(v) else v for v in latest[name]], name
    # the service also carries product_features (price, demand, availability)
    assert all(price is not None and price > 0 for price in online["price"])
