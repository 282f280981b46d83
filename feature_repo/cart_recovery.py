"""Cart recovery: the Feast source, view, request-time view and versioned service
(cart_recovery_v2) over dbt model features/cart_recovery_features, next to cart_features.
cart_recovery_v1 stays in feature_services.py."""

from datetime import timedelta
from typing import Any

from feast import FeatureService, FeatureView, Field, FileSource, PushSource, RequestSource
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Bool, Float64, Int64, String

from feature_repo.entities import customer
from feature_repo.feature_views import cart_features, customer_features

cart_recovery_features_source = FileSource(
    name="cart_recovery_features_source",
    path="cart_recovery_features.parquet",
    timestamp_field="event_timestamp",
    description="dbt model features/cart_recovery_features, one row per cart of an identified customer.",
)

# Like cart_features, the tracking layer may push each cart change, so that the last activity
# read at request time is the cart's latest, not the nightly materialization's.
cart_recovery_features_push = PushSource(
    name="cart_recovery_features_push",
    batch_source=cart_recovery_features_source,
    description="Cart changes pushed as they happen: customer_id, event_timestamp and the cart_recovery_features columns.",
    tags={"producer": "web-tracking"},
)

cart_recovery_features = FeatureView(
    name="cart_recovery_features",
    entities=[customer],
    # the same horizon as cart_features: a cart untouched for two weeks is no longer the customer's cart
    ttl=timedelta(days=14),
    schema=[
        Field(name="cart_highest_item_price", dtype=Float64, description="Highest unit price (as shown when added) of a product still in the cart."),
        Field(name="cart_furthest_checkout_step", dtype=String, description="Furthest checkout step reached: not_started, cart, shipping, payment or review."),
        Field(name="is_first_time_buyer", dtype=Bool, description="The customer had placed no order (cancelled excluded) before the cart was created."),
        Field(name="customer_orders_before_cart", dtype=Int64, description="Orders the customer placed before the cart was created (cancelled excluded)."),
        Field(name="customer_typical_order_value", dtype=Float64, description="Median order total of the customer's orders placed before the cart was created (null for a first-time buyer)."),
        Field(name="cart_last_activity_epoch_seconds", dtype=Int64, description="The cart's last activity, in seconds since 1970-01-01 UTC."),
    ],
    source=cart_recovery_features_push,
    online=True,
    description="What a cart-recovery model adds to the cart: its most expensive item, the furthest checkout step and who the customer was when the cart was created.",
)

cart_recovery_request = RequestSource(
    name="cart_recovery_request",
    schema=[Field(name="request_epoch_seconds", dtype=Int64, description="When the features are requested, in seconds since 1970-01-01 UTC.")],
    description="The time of the request, sent by the caller (the serving clock, or a label's time in a training set).",
    # a training set that does not send it gets each row's label time (training_recipes.py)
    tags={"filled_from": "event_timestamp"},
)


@on_demand_feature_view(
    sources=[cart_recovery_features[["cart_last_activity_epoch_seconds"]], cart_recovery_request],
    # Feast compares the declared fields with the ones it infers from a trial run, description
    # included (inferred ones have none): the field is described in the view's description
    schema=[Field(name="minutes_since_cart_activity", dtype=Float64)],
    mode="python",
    description="minutes_since_cart_activity: minutes from the cart's last activity to the request (null without a cart).",
    tags={"owner": "crm-automation"},
)
def cart_recovery_request_time(inputs: dict[str, Any]) -> dict[str, Any]:
    return {"minutes_since_cart_activity": [
        None if last is None or now is None else (now - last) / 60.0
        for last, now in zip(inputs["cart_last_activity_epoch_seconds"], inputs["request_epoch_seconds"])
    ]}


cart_recovery_v2 = FeatureService(
    name="cart_recovery_v2",
    features=[
        cart_features,
        cart_recovery_features,
        cart_recovery_request_time,
        customer_features[["orders_lifetime", "avg_order_value", "return_rate", "email_clicks_90d", "preferred_device"]],
    ],
    description="Abandoned-cart recovery: the live cart, its most expensive item, who the customer was when they filled it, and how long it has been idle at request time.",
    tags={"owner": "crm-automation", "consumer": "cart-recovery-model"},
)
