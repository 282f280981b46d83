"""Personalization (customer x candidate product): the customer profile and consent views, the
request-time on-demand views, and the `personalization_v2` service.

Top-3 affinities are JSON array strings (`'["tv", "audio"]'`) next to the top value's share as a
Float64: a string serves through every online store and encoder unchanged and a ranker reads it
with one json.loads, while the share stays a number for models. Consent as-of times are
UnixTimestamp fields."""

from datetime import timedelta

from feast import FeatureService, FeatureView, Field, FileSource, RequestSource
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Bool, Float64, Int64, String, UnixTimestamp

from feature_repo.entities import customer
from feature_repo.feature_views import cart_features, customer_features, product_features

customer_profile_features_source = FileSource(
    name="customer_profile_features_source",
    path="customer_profile_features.parquet",
    timestamp_field="event_timestamp",
    description="dbt model features/customer_profile_features, one row per customer and activity day.",
)

customer_consent_features_source = FileSource(
    name="customer_consent_features_source",
    path="customer_consent_features.parquet",
    timestamp_field="event_timestamp",
    description="dbt model features/customer_consent_features, one row per customer and consent change.",
)

customer_profile_features = FeatureView(
    name="customer_profile_features",
    entities=[customer],
    ttl=timedelta(days=365),
    schema=[
        Field(name="days_since_last_order", dtype=Int64, description="Days from the last order to the feature day (null: no order yet)."),
        Field(name="days_since_last_session", dtype=Int64, description="Days from the last web session to the feature day (null: no session yet, or no web analytics)."),
        Field(name="last_session_at", dtype=UnixTimestamp, description="Start of the customer's last web session up to the day (null: none, or no web analytics)."),
        Field(name="orders_30d", dtype=Int64, description="Orders placed in the 30 days ending on the day (cancelled excluded)."),
        Field(name="orders_365d", dtype=Int64, description="Orders placed in the 365 days ending on the day (cancelled excluded)."),
        Field(name="revenue_30d", dtype=Float64, description="Order totals in the 30 days ending on the day."),
        Field(name="revenue_365d", dtype=Float64, description="Order totals in the 365 days ending on the day."),
        Field(name="median_order_value", dtype=Float64, description="Median order total up to the day."),
        Field(name="top_categories", dtype=String, description="Up to three top-level categories with the most spend up to the day, as a JSON array, most first."),
        Field(name="top_category_shares", dtype=String, description="Their shares of the customer's spend, as a JSON array in the same order."),
        Field(name="top_category_share", dtype=Float64, description="Share of spend of the first of top_categories."),
        Field(name="top_brands", dtype=String, description="Up to three brands with the most spend up to the day, as a JSON array, most first."),
        Field(name="top_brand_shares", dtype=String, description="Their shares of the customer's spend, as a JSON array in the same order."),
        Field(name="top_brand_share", dtype=Float64, description="Share of spend of the first of top_brands."),
        Field(name="discounted_purchase_share", dtype=Float64, description="Share of order lines bought with a line discount, up to the day."),
        Field(name="price_comparison_session_share", dtype=Float64, description="Share of web sessions that arrived from a price-comparison site (dbt vars price_comparison_referrer_names, price_comparison_utm_mediums), up to the day (null without web analytics)."),
        Field(name="price_band_low", dtype=Float64, description="25th percentile of the unit prices the customer paid, up to the day."),
        Field(name="price_band_median", dtype=Float64, description="Median unit price the customer paid, up to the day."),
        Field(name="price_band_high", dtype=Float64, description="75th percentile of the unit prices the customer paid, up to the day."),
        Field(name="preferred_channel", dtype=String, description="Order channel (web, app, store, ...) with the most orders up to the day."),
        Field(name="sessions_7d", dtype=Int64, description="Web sessions in the 7 days ending on the day (null without web analytics)."),
        Field(name="product_views_7d", dtype=Int64, description="Product detail views in the 7 days ending on the day (null without web analytics)."),
        Field(name="carts_abandoned_30d", dtype=Int64, description="Carts that became abandoned (idle cart_abandoned_after_hours without an order) in the 30 days ending on the day (null without web analytics)."),
        Field(name="email_open_rate", dtype=Float64, description="Marketing emails opened / sent, up to the day."),
        Field(name="email_click_rate", dtype=Float64, description="Marketing emails clicked / sent, up to the day."),
        Field(name="best_send_hour", dtype=Int64, description="UTC hour of day (0-23) at which the customer opened the most marketing emails, up to the day."),
        Field(name="best_send_weekday", dtype=Int64, description="ISO weekday (1 Monday - 7 Sunday, UTC) on which the customer opened the most marketing emails, up to the day."),
        Field(name="open_support_tickets", dtype=Int64, description="Support tickets opened up to the day and not solved by its end."),
    ],
    source=customer_profile_features_source,
    online=True,
    description="Recency, frequency, monetary, affinities, price sensitivity, channel, browsing, email and support per customer, as of each activity day.",
    # a profile built for personalization: served only under the customer's personalization consent
    tags={"requires_consent": "personalization"},
)

customer_consent_features = FeatureView(
    name="customer_consent_features",
    entities=[customer],
    # A consent stays in force until it changes, however long ago it was given.
    ttl=timedelta(days=3650),
    schema=[
        Field(name="email_consent", dtype=Bool, description="Email marketing consent in force (null: never recorded)."),
        Field(name="email_consent_as_of", dtype=UnixTimestamp, description="When the email consent in force was recorded."),
        Field(name="sms_consent", dtype=Bool, description="SMS marketing consent in force (null: never recorded)."),
        Field(name="sms_consent_as_of", dtype=UnixTimestamp, description="When the SMS consent in force was recorded."),
        Field(name="personalization_consent", dtype=Bool, description="Consent to personalization in force (null: never recorded)."),
        Field(name="personalization_consent_as_of", dtype=UnixTimestamp, description="When the personalization consent in force was recorded."),
    ],
    source=customer_consent_features_source,
    online=True,
    description="Marketing consent per channel (email, SMS, personalization) in force after each change, with when it was recorded.",
    # the consent the feature server reads per customer (<channel>_consent, <channel>_consent_as_of)
    tags={"consent_channels": "email,sms,personalization"},
)

# The request's own clock: recency "now", not as of the last feature day.
request_time_source = RequestSource(
    name="request_time",
    schema=[Field(name="request_time", dtype=UnixTimestamp, description="When the request is served (UTC).")],
    description="The time of the serving request (in a training set: the label's time).",
    # a training set that does not send it gets each row's label time (training_recipes.py)
    tags={"filled_from": "event_timestamp"},
)


# The transformations are stored in the registry as source text and rebuilt from it when served:
# each one imports what it uses inside its body and calls no helper of this module. Their output
# fields carry no description (Feast compares the declared fields with the inferred ones, which
# have none, including the description): each view's description says what its output means.


@on_demand_feature_view(
    sources=[customer_profile_features[["last_session_at"]], request_time_source],
    schema=[Field(name="hours_since_last_session", dtype=Float64)],
    mode="python",
    description="hours_since_last_session: hours from the customer's last web session to the request time (null: no session).",
    tags={"owner": "personalization", "requires_consent": "personalization"},
)
def customer_session_recency(inputs: dict) -> dict:
    from datetime import datetime, timezone

    def utc(value):
        if value is None or value != value:  # None or NaN/NaT
            return None
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, tz=timezone.utc)
        if hasattr(value, "to_pydatetime"):
            value = value.to_pydatetime()
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)

    hours = []
    for last_session_at, request_time in zip(inputs["last_session_at"], inputs["request_time"]):
        last, now = utc(last_session_at), utc(request_time)
        hours.append(None if last is None or now is None else max(0.0, (now - last).total_seconds() / 3600))
    return {"hours_since_last_session": hours}


@on_demand_feature_view(
    sources=[customer_profile_features[["price_band_median"]], product_features[["price"]]],
    schema=[Field(name="price_vs_typical_price", dtype=Float64)],
    mode="python",
    description="price_vs_typical_price: the candidate product's price / the customer's median unit price paid (null: no purchase yet).",
    tags={"owner": "personalization", "requires_consent": "personalization"},
)
def candidate_price_vs_price_band(inputs: dict) -> dict:
    return {"price_vs_typical_price": [
        float(price) / float(band) if price is not None and band is not None and band == band and band > 0 else None
        for price, band in zip(inputs["price"], inputs["price_band_median"])
    ]}


@on_demand_feature_view(
    sources=[customer_profile_features[["median_order_value"]], cart_features[["cart_value"]]],
    schema=[Field(name="cart_value_vs_typical_order", dtype=Float64)],
    mode="python",
    description="cart_value_vs_typical_order: the customer's current cart value / their median order value (null: no cart or no order yet).",
    tags={"owner": "personalization", "requires_consent": "personalization"},
)
def cart_value_vs_typical_order(inputs: dict) -> dict:
    return {"cart_value_vs_typical_order": [
        float(value) / float(typical) if value is not None and typical is not None and typical == typical and typical > 0 else None
        for value, typical in zip(inputs["cart_value"], inputs["median_order_value"])
    ]}


personalization_v2 = FeatureService(
    name="personalization_v2",
    features=[
        customer_features[["orders_lifetime", "revenue_lifetime", "avg_order_value", "orders_90d", "revenue_90d",
                           "preferred_device", "support_tickets_90d"]],
        customer_profile_features,
        customer_consent_features,
        product_features[["price", "category_level_1", "brand", "avg_rating", "review_count", "is_in_stock", "units_sold_30d"]],
        customer_session_recency,
        candidate_price_vs_price_band,
        cart_value_vs_typical_order,
    ],
    description="Page and email personalization: who the customer is, what they like and pay, how and when to reach them, "
                "what they consented to, and the candidate product; request time as a request field.",
    # its customer views are served only under personalization consent (the consent view itself is)
    tags={"owner": "personalization", "consumer": "personalization-ranker", "requires_consent": "personalization"},
)
