"""Suite definitions: one function per table, building a gx.ExpectationSuite."""

from __future__ import annotations


def customer_features_suite():
    import great_expectations as gx
    import great_expectations.expectations as gxe

    counts = [
        "orders_lifetime", "orders_90d", "units_returned_lifetime", "product_views_30d",
        "add_to_carts_30d", "searches_30d", "support_tickets_90d", "email_opens_90d",
        "email_clicks_90d", "days_since_first_seen",
    ]
    expectations = [
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        gxe.ExpectColumnValuesToNotBeNull(column="customer_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="event_timestamp"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["customer_id", "event_timestamp"]),
        gxe.ExpectColumnValuesToMatchRegex(column="customer_id", regex=r"^cus_[0-9a-f]{16}$"),
        gxe.ExpectColumnValuesToBeBetween(column="revenue_lifetime", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="revenue_90d", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="avg_order_value", min_value=0, max_value=50_000),
        gxe.ExpectColumnValuesToBeBetween(column="return_rate", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeInSet(column="preferred_device", value_set=["desktop", "mobile", "tablet"]),
        # Most customers are seen on the web: a collapse of the stitching would show here first.
        gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(column="preferred_device", min_value=0.3),
        # Null-rate bounds: nulls are legitimate (no order yet, nothing returned) but a jump in
        # their share means a join or a source went missing.
        gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(column="avg_order_value", min_value=0.5),
        gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(column="return_rate", min_value=0.3),
        gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(column="favourite_category", min_value=0.3),
    ]
    expectations += [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in counts]
    expectations += [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in counts]
    return gx.ExpectationSuite(name="customer_features", expectations=expectations)


def product_features_suite():
    import great_expectations as gx
    import great_expectations.expectations as gxe

    counts = [
        "product_views_7d", "add_to_carts_7d", "units_sold_30d", "review_count", "units_on_hand",
        "units_available", "locations_in_stock", "stores_in_stock",
    ]
    expectations = [
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        gxe.ExpectColumnValuesToNotBeNull(column="product_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="event_timestamp"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["product_id", "event_timestamp"]),
        # A zero or missing price would be shown to customers and fed to ranking.
        gxe.ExpectColumnValuesToNotBeNull(column="price"),
        gxe.ExpectColumnValuesToBeBetween(column="price", min_value=0.01, max_value=20_000),
        gxe.ExpectColumnValuesToNotBeNull(column="category_level_1"),
        gxe.ExpectColumnValuesToBeBetween(column="avg_rating", min_value=1, max_value=5),
        gxe.ExpectColumnValuesToBeBetween(column="return_rate_90d", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="view_to_order_rate_30d", min_value=0),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="units_on_hand", column_B="units_available", or_equal=True),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="locations_in_stock", column_B="stores_in_stock", or_equal=True),
        # Null-rate bounds (products without reviews, views or returns have nulls there).
        gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(column="avg_rating", min_value=0.1),
        gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(column="return_rate_90d", min_value=0.5),
        gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(column="view_to_order_rate_30d", min_value=0.5),
    ]
    expectations += [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in counts]
    expectations += [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in counts]
    return gx.ExpectationSuite(name="product_features", expectations=expectations)


def cart_features_suite():
    import great_expectations as gx
    import great_expectations.expectations as gxe

    expectations = [
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        gxe.ExpectColumnValuesToNotBeNull(column="customer_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="event_timestamp"),
        gxe.ExpectColumnValuesToNotBeNull(column="cart_id"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["customer_id", "event_timestamp"]),
        gxe.ExpectColumnValuesToBeUnique(column="cart_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="customer_id", regex=r"^cus_[0-9a-f]{16}$"),
        # a cart cannot hold a negative number of items or a negative value (removals of items
        # never added would mean a tracking bug)
        gxe.ExpectColumnValuesToBeBetween(column="cart_items", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="cart_value", min_value=0, max_value=100_000),
        gxe.ExpectColumnValuesToBeBetween(column="cart_checkout_step", min_value=0, max_value=4),
        gxe.ExpectColumnValuesToBeBetween(column="cart_shipping_amount_seen", min_value=0, max_value=500),
        gxe.ExpectColumnValuesToBeInSet(column="cart_device", value_set=["desktop", "mobile", "tablet"]),
        gxe.ExpectColumnValuesToNotBeNull(column="cart_ordered"),
    ]
    return gx.ExpectationSuite(name="cart_features", expectations=expectations)


SUITES = {
    "customer_features": customer_features_suite,
    "product_features": product_features_suite,
    "cart_features": cart_features_suite,
}
