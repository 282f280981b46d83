"""Which columns hold a person's identifiers, found by name wherever a table or file has them:
the same rules for the warehouse's tables, the Parquet files and the landing rows at ingestion,
so that a new model or source column named like its kind is covered without a list to update."""

from __future__ import annotations

# JSON keys read as identifiers inside JSON columns (web events' traits and properties, a raw
# table's _extra_columns): top-level keys only.
JSON_KEYS = ("email", "phone", "order_id", "cart_id", "user_id", "anonymous_id")


def column_kind(name: str) -> str | None:
    """The identifier kind a column of this name holds (None: not an identifier)."""
    n = name.lower()
    if n.endswith("email_hash"):
        return "email_hash"
    if n.endswith("phone_hash"):
        return "phone_hash"
    if "crm_customer_id" in n:
        return "crm_customer_id"
    if "oms_customer_id" in n or n == "user_id":
        return "oms_customer_id"
    if "anonymous_id" in n or n.endswith("cookie_id"):
        return "anonymous_id"
    if n == "customer_id" or n.endswith("_customer_id"):
        return "customer_id"
    if n == "order_id" or n.endswith("_order_id"):
        return "order_id"
    if n == "cart_id" or n.endswith("_cart_id"):
        return "cart_id"
    return None


def clear_text_kind(name: str) -> str | None:
    """The hashed kind a clear-text column holds (an email or phone as typed), else None."""
    n = name.lower()
    if n == "email" or n.endswith("_email"):
        return "email_hash"
    if n == "phone" or n.endswith("_phone"):
        return "phone_hash"
    return None


def list_kind(name: str) -> str | None:
    """The kind of the ids a list column holds (`latest_order_ids`, `order_ids`), else None."""
    n = name.lower()
    if n.endswith("_ids"):
        return column_kind(n[:-1])
    return None


def typed_pairs(columns: list[str]) -> list[tuple[str, str]]:
    """(type column, value column) pairs of the identity tables: a value column whose sibling names
    its kind (identifier_type/identifier_value, type_a/value_a, identifier_type_b/...)."""
    names = {c.lower(): c for c in columns}
    pairs = []
    for lower, column in names.items():
        if "value" in lower:
            sibling = lower.replace("value", "type")
            if sibling in names:
                pairs.append((names[sibling], column))
    return pairs
