"""Product content generation: the Feast source, view and versioned service (product_content_v2)
over dbt model features/product_content_features. product_content_v1 stays in feature_services.py."""

from datetime import timedelta

from feast import FeatureService, FeatureView, Field, FileSource
from feast.types import Float64, Int64, String

from feature_repo.entities import product
from feature_repo.feature_views import product_features

product_content_features_source = FileSource(
    name="product_content_features_source",
    path="product_content_features.parquet",
    timestamp_field="event_timestamp",
    description="dbt model features/product_content_features, one row per product and day a value changed (plus a heartbeat).",
)

_NO_WEB = " Null where the retailer has no web analytics."
_TOP = "up to the day"

product_content_features = FeatureView(
    name="product_content_features",
    entities=[product],
    # the table's heartbeat (var product_feature_heartbeat_days) keeps every product within it
    ttl=timedelta(days=30),
    schema=[
        Field(name="product_name", dtype=String, description="Product name in the PIM version in force."),
        Field(name="product_description", dtype=String, description="Marketing description in the PIM version in force (null when empty)."),
        Field(name="category_path", dtype=String, description="Category path from the root, ' > '-separated."),
        Field(name="category_level_2", dtype=String, description="Second level of the category path."),
        Field(name="category_level_3", dtype=String, description="Third level of the category path."),
        Field(name="specs_json", dtype=String, description="Technical specs as the PIM delivers them: a JSON object of name -> number, string or boolean (the keys depend on the category)."),
        Field(name="currency", dtype=String, description="ISO 4217 currency of the price."),
        Field(name="price_band", dtype=String, description="Third of the day's prices in the product's top-level category it falls in: low, mid or high (null with fewer than 3 products in the category)."),
        Field(name="margin_band", dtype=String, description="Third of the day's margins (price - cost) / price across the catalogue it falls in: low, mid or high. Null where the PIM delivers no cost."),
        Field(name="units_sold_7d", dtype=Int64, description="Units ordered in 7 days (cancelled orders excluded)."),
        Field(name="funnel_views_30d", dtype=Int64, description="Product detail views in 30 days." + _NO_WEB),
        Field(name="funnel_add_to_carts_30d", dtype=Int64, description="Add-to-cart events in 30 days." + _NO_WEB),
        Field(name="funnel_purchases_30d", dtype=Int64, description="Order lines of the product in 30 days (cancelled orders excluded)."),
        Field(name="funnel_view_to_cart_rate_30d", dtype=Float64, description="funnel_add_to_carts_30d / funnel_views_30d (may exceed 1: adds from list pages)." + _NO_WEB),
        Field(name="funnel_cart_to_purchase_rate_30d", dtype=Float64, description="funnel_purchases_30d / funnel_add_to_carts_30d (may exceed 1: orders placed in stores or by phone)." + _NO_WEB),
        Field(name="product_support_tickets_90d", dtype=Int64, description="Support tickets opened in 90 days about an order containing the product (linked by the ticket's order id through the order lines)."),
        *[Field(name=f"reviews_{stars}_star", dtype=Int64, description=f"Reviews rating the product {stars} star{'s' if stars > 1 else ''}, {_TOP}.")
          for stars in range(1, 6)],
        *[field for rank in range(1, 4) for field in (
            Field(name=f"top_return_reason_{rank}", dtype=String, description=f"Return reason ranked {rank} by units returned, {_TOP}."),
            Field(name=f"top_return_reason_{rank}_share", dtype=Float64, description=f"Share of the product's returned units with top_return_reason_{rank}, {_TOP}."),
        )],
        *[field for rank in range(1, 4) for field in (
            Field(name=f"top_search_term_{rank}", dtype=String, description=f"Site search ranked {rank} by sessions in which it was the latest search before a view or add-to-cart of the product, {_TOP}." + _NO_WEB),
            Field(name=f"top_search_term_{rank}_sessions", dtype=Int64, description=f"Sessions in which top_search_term_{rank} led to the product, {_TOP}." + _NO_WEB),
        )],
        *[field for rank in range(1, 4) for field in (
            Field(name=f"co_purchased_product_{rank}", dtype=String, description=f"product_id ranked {rank} by orders that also contained this product, {_TOP}."),
            Field(name=f"co_purchased_product_{rank}_orders", dtype=Int64, description=f"Orders containing both this product and co_purchased_product_{rank}, {_TOP}."),
        )],
    ],
    source=product_content_features_source,
    online=True,
    description="What product copy is written from: PIM record, price and margin band, funnel, return reasons, tickets, ratings, searches and co-purchases, as of each day.",
)

product_content_v2 = FeatureService(
    name="product_content_v2",
    features=[product_features, product_content_features],
    description="Product copy generation: the product's catalogue record, demand, funnel, returns, ratings, searches and co-purchases.",
    tags={"owner": "content-generation", "consumer": "product-copy-llm"},
)
