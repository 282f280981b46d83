"""Point in time for the availability and order views: a training row never sees a stock count or
an order status learned after its time. Fast tier on a small served world (Feast's historical
retrieval over known rows); slow tier on the session pipeline's real tables, checked against an
independent ASOF join and recomputation."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from dagster_project.feast_ext.feature_tables import feature_table_path
from test_availability_pushes import (BATCH_ORDERS, BATCH_STOCK, customer_latest_orders_table, order_status_table,
                                      stock_by_location_table, stock_by_product_table)
from test_serving_support import NOW, build_served_world
from conftest import duck

EARLIER, LATER = NOW - timedelta(days=3), NOW - timedelta(hours=6)


def _historical(settings, rows: list[dict], features: list[str]) -> pd.DataFrame:
    from dagster_project.feast_ext.repo import get_feature_store

    entity_df = pd.DataFrame(rows)
    entity_df["event_timestamp"] = pd.to_datetime(entity_df["event_timestamp"], utc=True)
    frame = get_feature_store(settings).get_historical_features(entity_df=entity_df, features=features).to_df()
    return frame.sort_values("event_timestamp").reset_index(drop=True)


def test_a_later_stock_count_or_status_is_not_seen_by_an_earlier_training_row(tmp_path):
    stock = stock_by_location_table(BATCH_STOCK + [("SKU-9", "S1", EARLIER, 5), ("SKU-9", "S1", LATER, 1)])
    orders = order_status_table(BATCH_ORDERS + [("ORD-9", EARLIER, "placed"), ("ORD-9", LATER, "delivered")])
    settings = build_served_world(tmp_path / "data", tables={
        "stock_by_location": stock, "stock_by_product": stock_by_product_table(),
        "order_status": orders, "customer_latest_orders": customer_latest_orders_table()})
    moments = [EARLIER - timedelta(seconds=1), LATER - timedelta(seconds=1), LATER]

    frame = _historical(settings, [{"product_id": "SKU-9", "location_id": "S1", "event_timestamp": m} for m in moments],
                        ["stock_by_location:units_available", "stock_by_location:is_low_stock"])
    assert frame["units_available"].tolist()[0] is None or pd.isna(frame["units_available"][0])
    assert frame["units_available"].tolist()[1:] == [5, 1]
    assert frame["is_low_stock"].tolist()[1:] == [False, True]

    frame = _historical(settings, [{"order_id": "ORD-9", "event_timestamp": m} for m in moments],
                        ["order_status:order_status"])
    assert frame["order_status"].tolist()[1:] == ["placed", "delivered"] and pd.isna(frame["order_status"][0])


# ---- slow tier: the real tables of the session's pipeline


def _table(settings, name: str) -> str:
    return f"read_parquet('{feature_table_path(settings, name)}')"


@pytest.mark.slow
def test_stock_by_location_training_rows_match_an_independent_asof_join(pipeline_settings):
    table = _table(pipeline_settings, "stock_by_location")
    # a product and location whose available units changed between two counts
    product_id, location_id, first, second = duck(f"""
        select product_id, location_id, units_available, next_available from (
            select *, lead(units_available) over w as next_available from {table}
            window w as (partition by product_id, location_id order by event_timestamp))
        where next_available <> units_available order by product_id, location_id, event_timestamp limit 1""").fetchone()
    rows = duck(f"""
        select product_id, location_id, event_timestamp - interval 1 second as event_timestamp from {table}
        where product_id = ? and location_id = ? and units_available = ? order by event_timestamp limit 1""",
                          [product_id, location_id, second]).df()
    assert len(rows) == 1
    sample = duck(f"""
        select product_id, location_id, event_timestamp + interval 7 hour as event_timestamp from {table}
        using sample 200 rows (reservoir, 7)""").df()
    entity_df = pd.concat([rows, sample], ignore_index=True)
    entity_df["event_timestamp"] = pd.to_datetime(entity_df["event_timestamp"], utc=True)

    from dagster_project.feast_ext.repo import get_feature_store

    got = get_feature_store(pipeline_settings).get_historical_features(
        entity_df=entity_df, features=["stock_by_location:units_available", "stock_by_location:stock_counted_at"]).to_df()
    got["event_timestamp"] = got["event_timestamp"].dt.tz_convert("UTC").dt.tz_localize(None)
    expected = duck(f"""
        select e.product_id, e.location_id, e.event_timestamp, t.units_available, t.stock_counted_at
        from got e asof left join {table} t
          on t.product_id = e.product_id and t.location_id = e.location_id and e.event_timestamp >= t.event_timestamp
        """, got=got).df()
    merged = got.merge(expected, on=["product_id", "location_id", "event_timestamp"], suffixes=("", "_asof"))
    assert len(merged) == len(got) > 100
    assert (merged["units_available"].fillna(-1) == merged["units_available_asof"].fillna(-1)).all()
    assert (merged["stock_counted_at"].fillna("") == merged["stock_counted_at_asof"].fillna("")).all()
    # the row just before the later count sees the earlier one
    first_row = merged[(merged["product_id"] == product_id) & (merged["location_id"] == location_id)
                       & (merged["event_timestamp"] == rows["event_timestamp"][0])]
    assert first_row["units_available"].tolist() == [first]


@pytest.mark.slow
def test_product_totals_are_each_locations_latest_count_at_the_moment(pipeline_settings):
    locations, products = _table(pipeline_settings, "stock_by_location"), _table(pipeline_settings, "stock_by_product")
    differences = duck(f"""
        with moments as (select product_id, event_timestamp, total_units_available, stores_in_stock from {products}),
        pairs as (select distinct product_id, location_id from {locations}),
        in_force as (
            select m.product_id, m.event_timestamp, m.total_units_available, m.stores_in_stock,
                   l.units_available, l.location_type
            from moments m inner join pairs p using (product_id)
            asof inner join {locations} l
              on l.product_id = m.product_id and l.location_id = p.location_id and m.event_timestamp >= l.event_timestamp)
        select count(*) from (
            select product_id, event_timestamp, any_value(total_units_available) as total,
                   sum(units_available) as recomputed,
                   any_value(stores_in_stock) as stores,
                   count(*) filter (where units_available > 0 and location_type = 'store') as recomputed_stores
            from in_force group by all)
        where total <> recomputed or stores <> recomputed_stores""").fetchone()[0]
    assert differences == 0
    assert duck(f"select count(*) from {products}").fetchone()[0] > 0


@pytest.mark.slow
def test_latest_orders_list_only_orders_known_at_the_row(pipeline_settings):
    latest, statuses = _table(pipeline_settings, "customer_latest_orders"), _table(pipeline_settings, "order_status")
    listed = duck(f"""
        select l.customer_id, l.event_timestamp, unnest(string_split(l.latest_order_ids, ',')) as order_id from {latest} l
        """).df()
    assert len(listed) > 0
    from_the_future = duck(f"""
        select count(*) from listed
        where (select min(s.event_timestamp) from {statuses} s where s.order_id = listed.order_id) > listed.event_timestamp
        """, listed=listed).fetchone()[0]
    assert from_the_future == 0
