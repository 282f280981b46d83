"""product_features keeps a row only on the days a feature value changed (plus a heartbeat
within the feature view's TTL): read point-in-time (ASOF, within the TTL, as Feast does) on
every day, it gives exactly the values of the dense daily table it was thinned from."""

from __future__ import annotations

import re

import duckdb

from dagster_project.feast_ext.feature_tables import feature_table_path

FEATURES = [
    "price", "category_level_1", "brand", "is_active", "product_views_7d", "add_to_carts_7d", "units_sold_30d",
    "revenue_30d", "view_to_order_rate_30d", "return_rate_90d", "review_count", "avg_rating", "units_on_hand",
    "units_available", "locations_in_stock", "stores_in_stock", "is_in_stock",
]
# Not a change by itself (it moves daily with daily counts): a read between rows may return an
# earlier count date than the day's own, never a later one.
COUNT_DATE = "stock_counted_on"


def _dense_query(tmp_path) -> str:
    """The model's own daily values (its `daily_values` step, every product and day), from the
    SQL dbt compiles for it (in a data dir of its own: the relations it names are the same)."""
    from dagster_project.defs.project import dbt_cli
    from dagster_project.pii_salt import with_pii_salt

    from conftest import make_settings

    settings = with_pii_salt(make_settings(tmp_path / "compile"))
    settings.warehouse_path.parent.mkdir(parents=True)  # an empty warehouse: compiling reads no table
    target = tmp_path / "target"
    invocation = dbt_cli().cli(["compile", "--select", "product_features"], env=settings.env(), target_path=target)
    assert invocation.wait().is_successful()
    (compiled,) = target.glob("compiled/retail_context/models/features/product_features.sql")
    query, n = re.subn(r"select \* from final\s+order by product_id, event_timestamp\s*$",
                       "select * from daily_values", compiled.read_text().strip())
    assert n == 1, "product_features.sql no longer ends with its final select"
    return query


def _ttl_days() -> int:
    from feature_repo.feature_views import product_features

    return product_features.ttl.days


def test_sparse_product_features_read_point_in_time_equal_the_daily_values(pipeline_settings, tmp_path):
    settings = pipeline_settings
    ttl = _ttl_days()
    sparse_path = feature_table_path(settings, "product_features")
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        conn.execute(f"create temp table dense as {_dense_query(tmp_path)}")
        conn.execute(f"create temp table sparse as select * from read_parquet('{sparse_path}')")
        dense_rows, sparse_rows = (conn.execute(f"select count(*) from {t}").fetchone()[0] for t in ("dense", "sparse"))
        # what a point-in-time read at each day's event_timestamp returns: the latest row at or
        # before it, if not older than the TTL
        differing = conn.execute(
            f"""
            with asof_read as (
                select dense.product_id, dense.feature_date,
                       date_diff('day', sparse.feature_date, dense.feature_date) as age_days,
                       {", ".join(f"dense.{c} as d_{c}, sparse.{c} as s_{c}" for c in FEATURES)}
                from dense
                asof left join sparse
                  on sparse.product_id = dense.product_id and dense.event_timestamp >= sparse.event_timestamp
            )
            select * from asof_read
            where age_days is null or age_days >= {ttl}
               or {" or ".join(f"d_{c} is distinct from s_{c}" for c in FEATURES)}
            limit 5
            """
        ).fetchall()
        later_count_dates = conn.execute(
            f"""
            select count(*) from dense
            asof left join sparse
              on sparse.product_id = dense.product_id and dense.event_timestamp >= sparse.event_timestamp
            where sparse.{COUNT_DATE} > dense.{COUNT_DATE}
               or (sparse.{COUNT_DATE} is null) <> (dense.{COUNT_DATE} is null)
            """
        ).fetchone()[0]
        changed_days = conn.execute(
            "select count(*) from sparse where feature_date in (select feature_date from dense)"
        ).fetchone()[0]
    assert differing == []
    assert later_count_dates == 0
    assert changed_days == sparse_rows  # no row on a day the dense table does not have
    # thinned: on the test shop most product-days change nothing
    assert sparse_rows < dense_rows
    print(f"product_features: {dense_rows} daily rows -> {sparse_rows} rows stored")
