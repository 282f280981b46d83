"""The asset graph's groups, by business domain: what a data engineer looks for in the Dagster UI
("everything about identity", "product and stock") rather than by layer, which every asset key
already names (`raw/`, `staging/`, `marts/`, `features/`, `online_store/` ...). Owners, kinds and
freshness follow the layer (defs/asset_policies.py), so regrouping changes no policy."""

from __future__ import annotations

SOURCES = "sources"                    # landing files loaded (raw) and cleaned per source (staging)
IDENTITY = "identity"                  # who is who: identity edges, components, ids, merges
CUSTOMER_360 = "customer_360"          # orders, carts, sessions, engagement, tickets per customer
PRODUCT_AND_STOCK = "product_and_stock"  # catalog, product activity and stock positions
DATA_QUALITY = "data_quality"          # orphans and their rates across sources
FEATURES = "features"                  # the feature tables (Parquet) and their gates
SERVING = "serving"                    # Feast registry, online store views, analysts' published warehouse
DOMAINS = (SOURCES, IDENTITY, CUSTOMER_360, PRODUCT_AND_STOCK, DATA_QUALITY, FEATURES, SERVING)

IDENTITY_MODELS = frozenset({
    "int_identity_edges", "int_identity_components", "int_customer_id_registry", "int_identities_stitched",
    "identity_links", "customer_merges",
})
PRODUCT_AND_STOCK_MODELS = frozenset({
    "products", "inventory_positions", "int_product_versions_daily", "int_product_attributes_daily",
    "int_product_activity_daily", "int_product_mentions_daily",
})


def dbt_model_group(layer: str, name: str) -> str:
    """The group of dbt model `name` in models/<layer>/: staging with its sources, features and
    audit by their layer, the other models by domain (customer 360 unless listed above)."""
    if layer == "staging":
        return SOURCES
    if layer == "features":
        return FEATURES
    if layer == "audit":
        return DATA_QUALITY
    if name in IDENTITY_MODELS:
        return IDENTITY
    if name in PRODUCT_AND_STOCK_MODELS:
        return PRODUCT_AND_STOCK
    return CUSTOMER_360
