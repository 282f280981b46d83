"""The product content and cart recovery tables on the retailer without web analytics (the US
multi-channel world of tests/test_second_world.py): they publish, their gates pass, and the
features built from web analytics are null (documented), not zero and not a gate failure."""

from __future__ import annotations

import duckdb
import pytest

from dagster_project.feast_ext.feature_tables import feature_table_path
from test_second_world import us_run  # noqa: F401  (the world's one pipeline run, a fixture)

pytestmark = pytest.mark.slow

FROM_WEB_ANALYTICS = (
    "funnel_views_30d", "funnel_add_to_carts_30d", "funnel_view_to_cart_rate_30d", "funnel_cart_to_purchase_rate_30d",
    "top_search_term_1", "top_search_term_1_sessions", "top_search_term_2", "top_search_term_3",
)


def test_product_content_publishes_with_web_features_null(us_run):  # noqa: F811
    settings, summary = us_run
    assert summary.gates.get("product_content_features"), summary.gate_notes.get("product_content_features", "")
    assert "product_content_features" in summary.views_published
    path = feature_table_path(settings, "product_content_features")
    with duckdb.connect() as conn:
        counts = conn.execute(
            f"select count(*), {', '.join(f'count({c})' for c in FROM_WEB_ANALYTICS)}, "
            f"count(funnel_purchases_30d), count(product_name), count(co_purchased_product_1) "
            f"from read_parquet('{path}')"
        ).fetchone()
    rows, web_counts, (purchases, names, co_purchases) = counts[0], counts[1:-3], counts[-3:]
    assert rows > 0
    assert all(n == 0 for n in web_counts), dict(zip(FROM_WEB_ANALYTICS, web_counts))
    # what the OMS and PIM deliver is still there
    assert purchases == rows and names == rows and co_purchases > 0


def test_cart_recovery_publishes_empty_without_carts(us_run):  # noqa: F811
    _, summary = us_run
    assert summary.gates.get("cart_recovery_features"), summary.gate_notes.get("cart_recovery_features", "")
    assert "cart_recovery_features" in summary.views_published
