"""Returns risk (customer x product): the customer and product return views and the
`returns_risk_v1` service."""

from datetime import timedelta

from feast import FeatureService, FeatureView, Field, FileSource
from feast.types import Bool, Float64, Int64

from feature_repo.entities import customer, product

# The reasons of the oms/returns contract, as dbt var return_reasons lists them: one rate each.
RETURN_REASONS = ("defective", "not_as_described", "changed_mind", "wrong_item", "arrived_late",
                  "better_price_elsewhere", "other")

customer_return_features_source = FileSource(
    name="customer_return_features_source",
    path="customer_return_features.parquet",
    timestamp_field="event_timestamp",
    description="dbt model features/customer_return_features, one row per customer and day with a purchase or return request.",
)

product_return_features_source = FileSource(
    name="product_return_features_source",
    path="product_return_features.parquet",
    timestamp_field="event_timestamp",
    description="dbt model features/product_return_features, one row per product and day with a sale or return request.",
)

customer_return_features = FeatureView(
    name="customer_return_features",
    entities=[customer],
    ttl=timedelta(days=365),
    schema=[
        Field(name="returns_90d", dtype=Int64, description="Returns requested in the 90 days ending on the day (counted for the buyer)."),
        Field(name="returns_lifetime", dtype=Int64, description="Returns requested up to the day."),
        Field(name="customer_return_rate", dtype=Float64, description="Units returned / units bought, up to the day."),
        Field(name="non_defect_return_share", dtype=Float64, description="Share of the customer's returns whose reason is not a defect (not in dbt var return_defect_reasons), up to the day."),
        Field(name="is_serial_returner", dtype=Bool, description="returns_90d >= dbt var serial_returner_min_returns (default 3) and customer_return_rate >= serial_returner_min_rate (default 0.5)."),
    ],
    source=customer_return_features_source,
    online=True,
    description="How often and why a customer returns what they buy, as of each purchase or return day.",
)

product_return_features = FeatureView(
    name="product_return_features",
    entities=[product],
    ttl=timedelta(days=365),
    schema=[
        Field(name="units_sold_lifetime", dtype=Int64, description="Units sold up to the day (cancelled excluded)."),
        Field(name="units_returned_lifetime", dtype=Int64, description="Units asked back up to the day."),
        *[Field(name=f"return_rate_{reason}", dtype=Float64,
                description=f"Units returned with reason {reason} / units sold, up to the day.")
          for reason in RETURN_REASONS],
    ],
    source=product_return_features_source,
    online=True,
    description="Product return rates per return reason of the oms/returns contract, as of each sale or return day.",
)

returns_risk_v1 = FeatureService(
    name="returns_risk_v1",
    features=[customer_return_features, product_return_features],
    description="Returns risk of a customer buying a product: the customer's return behaviour and the product's return rates by reason.",
    tags={"owner": "returns", "consumer": "returns-risk-model"},
)
