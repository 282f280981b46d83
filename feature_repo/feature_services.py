"""Feature services: one versioned contract per consuming model."""

from feast import FeatureService

from feature_repo.feature_views import cart_features, customer_features, product_features

personalization_v1 = FeatureService(
    name="personalization_v1",
    features=[
        customer_features,
        product_features[["price", "category_level_1", "brand", "avg_rating", "review_count", "is_in_stock", "units_sold_30d"]],
    ],
    description="Page and email personalization: who the customer is and what the candidate product is.",
    # its customer views are served only under personalization consent
    tags={"owner": "personalization", "consumer": "personalization-ranker", "requires_consent": "personalization"},
)

product_content_v1 = FeatureService(
    name="product_content_v1",
    features=[product_features],
    description="Product description and availability-message generation.",
    tags={"owner": "content-generation", "consumer": "product-copy-llm"},
)

cart_recovery_v1 = FeatureService(
    name="cart_recovery_v1",
    features=[
        cart_features,
        customer_features[["orders_lifetime", "avg_order_value", "return_rate", "email_clicks_90d", "preferred_device"]],
    ],
    description="Abandoned-cart recovery: the live cart and who the customer is (when and how to remind them).",
    tags={"owner": "crm-automation", "consumer": "cart-recovery-model"},
)
