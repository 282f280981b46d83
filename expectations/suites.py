"""Invariants of the feature tables: what holds for every retailer's data. One `TableSpec` per
table names the roles of its columns; the GX suite is built from the spec and the frame's own
schema. Business ranges are profile expectations (expectations/profile.py), not invariants:
docs/adr/blocking-feature-gates.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pandas as pd

# Ingestion admits event times up to one day ahead of its clock (source clocks drift), and a
# feature row is stamped at the midnight after its day: up to one more day.
FUTURE_TOLERANCE = timedelta(days=2)

# A clear-text email anywhere in a string column, and an international phone number (a
# national number without "+" cannot be told from a numeric SKU, and staging hashes phones).
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"
PHONE_PATTERN = r"^\s*\+\d[\d\s()./-]{6,}\d\s*$"

# customer_id is minted by dbt (int_customer_id_registry): its format is ours, not the shop's.
CUSTOMER_ID_PATTERN = r"^cus_[0-9a-f]{16}$"


@dataclass(frozen=True)
class TableSpec:
    """The roles of a feature table's columns. Integer columns not named here are counts."""

    name: str
    entity: str
    timestamp: str = "event_timestamp"
    ids: tuple[str, ...] = ()
    id_patterns: dict[str, str] = field(default_factory=dict)
    unique: tuple[tuple[str, ...], ...] = ()
    required: tuple[str, ...] = ()
    money: tuple[str, ...] = ()        # amounts: >= 0
    positive: tuple[str, ...] = ()     # > 0
    rates: tuple[str, ...] = ()        # shares of a whole: [0, 1]
    ratios: tuple[str, ...] = ()       # quotients that may exceed 1: >= 0
    contract_ranges: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # column -> contract column
    at_least: tuple[tuple[str, str], ...] = ()  # (a, b): a >= b by construction
    not_profiled: tuple[str, ...] = ()

    def key(self) -> tuple[str, str]:
        return (self.entity, self.timestamp)


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            name="customer_features",
            entity="customer_id",
            ids=("customer_id",),
            id_patterns={"customer_id": CUSTOMER_ID_PATTERN},
            unique=(("customer_id", "event_timestamp"),),
            required=("customer_id", "event_timestamp"),
            money=("revenue_lifetime", "revenue_90d", "avg_order_value"),
            rates=("return_rate",),
            not_profiled=("feature_date",),
        ),
        TableSpec(
            name="product_features",
            entity="product_id",
            ids=("product_id",),
            unique=(("product_id", "event_timestamp"),),
            # the product's own attribute from the PIM, which every row is built from: a row
            # without a price (or at 0.00) would be shown to customers and fed to ranking
            required=("product_id", "event_timestamp", "price"),
            positive=("price",),
            money=("revenue_30d",),
            rates=("return_rate_90d",),
            # order lines per product view: orders placed without a tracked view make it exceed 1
            ratios=("view_to_order_rate_30d",),
            contract_ranges={"avg_rating": ("pim", "reviews", "rating")},
            at_least=(("units_on_hand", "units_available"), ("locations_in_stock", "stores_in_stock")),
            not_profiled=("feature_date",),
        ),
        TableSpec(
            name="cart_features",
            entity="customer_id",
            ids=("customer_id", "cart_id"),
            id_patterns={"customer_id": CUSTOMER_ID_PATTERN},
            unique=(("customer_id", "event_timestamp"), ("cart_id",)),
            required=("customer_id", "event_timestamp", "cart_id"),
            # cart_items and cart_value are added minus removed: below zero means removals of
            # items never added (a tracking bug), so they are a count and an amount like any other
            money=("cart_value", "cart_shipping_amount_seen"),
        ),
        TableSpec(
            name="product_content_features",
            entity="product_id",
            ids=("product_id",),
            unique=(("product_id", "event_timestamp"),),
            required=("product_id", "event_timestamp", "product_name"),
            rates=tuple(f"top_return_reason_{rank}_share" for rank in (1, 2, 3)),
            # adds from list pages skip the view, store and phone orders skip the web cart
            ratios=("funnel_view_to_cart_rate_30d", "funnel_cart_to_purchase_rate_30d"),
            not_profiled=("feature_date",),
        ),
        TableSpec(
            name="cart_recovery_features",
            entity="customer_id",
            ids=("customer_id", "cart_id"),
            id_patterns={"customer_id": CUSTOMER_ID_PATTERN},
            unique=(("customer_id", "event_timestamp"), ("cart_id",)),
            required=("customer_id", "event_timestamp", "cart_id", "cart_last_activity_epoch_seconds"),
            money=("cart_highest_item_price", "customer_typical_order_value"),
            not_profiled=("cart_last_activity_epoch_seconds",),
        ),
        TableSpec(
            name="stock_by_location",
            # the profile's "latest row per entity" is per product here (one location's row):
            # a sample of the locations, enough for ranges and null rates
            entity="product_id",
            ids=("product_id", "location_id"),
            unique=(("product_id", "location_id", "event_timestamp"),),
            required=("product_id", "location_id", "event_timestamp", "stock_counted_at"),
            # units sold per day and days of cover are rates of flow, never negative
            ratios=("units_sold_per_day", "days_of_cover"),
            at_least=(("units_on_hand", "units_available"),),
        ),
        TableSpec(
            name="stock_by_product",
            entity="product_id",
            ids=("product_id",),
            unique=(("product_id", "event_timestamp"),),
            required=("product_id", "event_timestamp", "oldest_count_at"),
            ratios=("total_units_sold_per_day", "total_days_of_cover"),
            at_least=(("total_units_on_hand", "total_units_available"), ("locations_in_stock", "stores_in_stock"),
                      ("stores_in_stock", "pickup_stores_in_stock")),
        ),
        TableSpec(
            name="order_status",
            entity="order_id",
            ids=("order_id", "customer_id"),
            id_patterns={"customer_id": CUSTOMER_ID_PATTERN},
            unique=(("order_id", "event_timestamp"),),
            required=("order_id", "event_timestamp", "order_status", "order_status_at"),
            money=("order_total",),
        ),
        TableSpec(
            name="customer_latest_orders",
            entity="customer_id",
            ids=("customer_id",),
            id_patterns={"customer_id": CUSTOMER_ID_PATTERN},
            unique=(("customer_id", "event_timestamp"),),
            required=("customer_id", "event_timestamp", "latest_order_ids", "latest_order_statuses"),
        ),
        TableSpec(
            name="customer_profile_features",
            entity="customer_id",
            ids=("customer_id",),
            id_patterns={"customer_id": CUSTOMER_ID_PATTERN},
            unique=(("customer_id", "event_timestamp"),),
            required=("customer_id", "event_timestamp"),
            money=("revenue_30d", "revenue_365d", "median_order_value",
                   "price_band_low", "price_band_median", "price_band_high"),
            rates=("top_category_share", "top_brand_share", "discounted_purchase_share",
                   "price_comparison_session_share", "email_open_rate", "email_click_rate"),
            # (window sums of money are left out: float sums in another order may differ in the last bit)
            at_least=(("orders_365d", "orders_30d"),
                      ("price_band_high", "price_band_median"), ("price_band_median", "price_band_low")),
            not_profiled=("feature_date", "last_session_at"),
        ),
        TableSpec(
            name="customer_consent_features",
            entity="customer_id",
            ids=("customer_id",),
            id_patterns={"customer_id": CUSTOMER_ID_PATTERN},
            unique=(("customer_id", "event_timestamp"),),
            required=("customer_id", "event_timestamp"),
            not_profiled=("email_consent_as_of", "sms_consent_as_of", "personalization_consent_as_of"),
        ),
        TableSpec(
            name="customer_return_features",
            entity="customer_id",
            ids=("customer_id",),
            id_patterns={"customer_id": CUSTOMER_ID_PATTERN},
            unique=(("customer_id", "event_timestamp"),),
            required=("customer_id", "event_timestamp", "is_serial_returner"),
            rates=("customer_return_rate", "non_defect_return_share"),
            at_least=(("returns_lifetime", "returns_90d"),),
            not_profiled=("feature_date",),
        ),
        TableSpec(
            name="product_return_features",
            entity="product_id",
            ids=("product_id",),
            unique=(("product_id", "event_timestamp"),),
            required=("product_id", "event_timestamp"),
            rates=tuple(f"return_rate_{reason}" for reason in (
                "defective", "not_as_described", "changed_mind", "wrong_item", "arrived_late",
                "better_price_elsewhere", "other")),
            not_profiled=("feature_date",),
        ),
        TableSpec(
            name="content_variant_features",
            entity="variant_id",
            ids=("variant_id",),
            unique=(("variant_id", "segment", "event_timestamp"),),
            required=("variant_id", "segment", "event_timestamp", "posterior_alpha", "posterior_beta"),
            rates=("posterior_mean",),
            # Beta parameters: a prior (> 0) plus counts
            ratios=("posterior_alpha", "posterior_beta"),
            # each outcome is counted once per impression it followed
            at_least=(("impressions", "clicks"), ("impressions", "add_to_carts"), ("impressions", "conversions"),
                      ("impressions", "successes")),
            not_profiled=("feature_date",),
        ),
    )
}


def column_kinds(df: pd.DataFrame, spec: TableSpec) -> dict[str, str]:
    """Each column's kind from the frame's dtype and the spec: id, timestamp, date, count,
    money, rate, ratio, measure (a float with no declared role), flag, category (text)."""
    kinds = {}
    for name in df.columns:
        dtype = df[name].dtype
        if name in spec.ids:
            kinds[name] = "id"
        elif name == spec.timestamp or pd.api.types.is_datetime64_any_dtype(dtype):
            kinds[name] = "timestamp"
        elif pd.api.types.is_bool_dtype(dtype):
            kinds[name] = "flag"
        elif name in spec.rates:
            kinds[name] = "rate"
        elif name in spec.ratios:
            kinds[name] = "ratio"
        elif name in spec.money or name in spec.positive:
            kinds[name] = "money"
        elif pd.api.types.is_integer_dtype(dtype):
            kinds[name] = "count"
        elif pd.api.types.is_float_dtype(dtype):
            kinds[name] = "measure"
        elif len(df[name].dropna()) and isinstance(df[name].dropna().iloc[0], bool):
            kinds[name] = "flag"  # nullable booleans arrive as object
        elif name in spec.not_profiled or _is_date(df[name]):
            kinds[name] = "date"
        else:
            kinds[name] = "category"
    return kinds


def _is_date(series: pd.Series) -> bool:
    import datetime as dt

    values = series.dropna()
    return len(values) > 0 and isinstance(values.iloc[0], dt.date)


def contract_range(ref: tuple[str, str, str]) -> tuple[float | None, float | None]:
    from dagster_project.contracts import get_contract

    system, entity, column = ref
    c = next(c for c in get_contract(system, entity).columns if c.name == column)
    return c.min_value, c.max_value


def invariant_suite(table: str, df: pd.DataFrame, now: datetime | None = None):
    """The blocking invariants of `table`, for the columns `df` has."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    spec = TABLES[table]
    kinds = column_kinds(df, spec)

    def meta(rule: str, why: str) -> dict:
        return {"gate": "invariant", "rule": rule, "why": why}

    # No "at least one row": a deployment without the source of a table (no web analytics: no
    # carts) has an empty table, which is no error; a table that empties after it had rows is
    # caught by the profile's entity count.
    expectations = []
    for name in spec.required:
        expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=name, meta=meta("required", "a row cannot exist without it")))
    for columns in spec.unique:
        why = "one row per entity and time (Feast's point-in-time join needs it)" if len(columns) > 1 else "identifies one row"
        if len(columns) == 1:
            expectations.append(gxe.ExpectColumnValuesToBeUnique(column=columns[0], meta=meta("unique", why)))
        else:
            expectations.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=list(columns), meta=meta("unique", why)))
    if spec.timestamp in df.columns:
        now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        limit = now + FUTURE_TOLERANCE
        if getattr(df[spec.timestamp].dt, "tz", None) is None:
            limit = limit.replace(tzinfo=None)
        expectations.append(gxe.ExpectColumnValuesToBeBetween(
            column=spec.timestamp, max_value=limit,
            meta=meta("not_future", f"event time at most {FUTURE_TOLERANCE.days} days after the run (clock skew + next-midnight stamp)")))
    for name, pattern in spec.id_patterns.items():
        if name in df.columns:
            expectations.append(gxe.ExpectColumnValuesToMatchRegex(column=name, regex=pattern, meta=meta("id_format", "minted by the pipeline")))
    for name, kind in kinds.items():
        if kind == "id":
            expectations.append(gxe.ExpectColumnValuesToNotMatchRegex(column=name, regex="@", meta=meta("no_pii", "an identifier with '@' is an email in clear text")))
        elif kind == "category":
            expectations.append(gxe.ExpectColumnValuesToNotMatchRegex(column=name, regex=EMAIL_PATTERN, meta=meta("no_pii", "no clear-text email in a feature")))
        if kind in ("id", "category"):
            expectations.append(gxe.ExpectColumnValuesToNotMatchRegex(column=name, regex=PHONE_PATTERN, meta=meta("no_pii", "no clear-text phone number in a feature")))
        if name in spec.positive:
            expectations.append(gxe.ExpectColumnValuesToBeBetween(column=name, min_value=0, strict_min=True, meta=meta("positive", "a price of zero is a placeholder, not a price")))
        elif kind in ("count", "money", "ratio"):
            expectations.append(gxe.ExpectColumnValuesToBeBetween(column=name, min_value=0, meta=meta("non_negative", f"a {kind} is never negative")))
        elif kind == "rate":
            expectations.append(gxe.ExpectColumnValuesToBeBetween(column=name, min_value=0, max_value=1, meta=meta("rate", "a share of a whole")))
    for name, ref in spec.contract_ranges.items():
        if name in df.columns:
            low, high = contract_range(ref)
            expectations.append(gxe.ExpectColumnValuesToBeBetween(
                column=name, min_value=low, max_value=high,
                meta=meta("contract_range", f"a mean of {'.'.join(ref)} stays within its contract range")))
    for a, b in spec.at_least:
        if a in df.columns and b in df.columns:
            expectations.append(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=a, column_B=b, or_equal=True, meta=meta("at_least", f"{b} is a part of {a}")))
    return gx.ExpectationSuite(name=f"{table}_invariants", expectations=expectations)


def _suite_builder(table: str):
    def build(df: pd.DataFrame, now: datetime | None = None):
        return invariant_suite(table, df, now)

    return build


SUITES = {name: _suite_builder(name) for name in TABLES}
