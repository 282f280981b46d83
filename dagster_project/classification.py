"""Personal-data classification of the dbt project's columns, read from the dbt manifest.

A column holding personal data says so in its yml: `meta: {pii: CLASS}` (or a list of classes);
`pii: false` marks a column whose name looks personal but whose values are not (reviewed).
Classes and what each one means: docs/privacy.md ("Classification")."""

from __future__ import annotations

import re

# Clear text: the value itself identifies or contacts the person. Raw layer (sources) only.
CLEAR_TEXT_CLASSES = ("email", "phone", "name", "address", "postcode", "ip")
# Salted SHA-256 of a normalised clear-text value (macros hash_email, hash_phone).
HASHED_CLASSES = ("email_hash", "phone_hash")
# An identifier the shop assigns to a browser or app install (cookie id): pseudonymous.
PSEUDONYMOUS_CLASSES = ("online_id",)
PII_CLASSES = CLEAR_TEXT_CLASSES + HASHED_CLASSES + PSEUDONYMOUS_CLASSES

# Column names that look like personal data: the name ends with one of these words (then
# optionally `_hash`). `product_name` or `emails` (a count) do not match; `shipping_address`,
# `email_hash`, `client_ip` do.
PII_LOOKING_NAME = re.compile(
    r"(^|_)(e_?mail|email_address|phone|phone_number|mobile|first_name|last_name|full_name|surname|"
    r"given_name|family_name|person_name|customer_name|street|address|postcode|postal_code|zip|zip_code|"
    r"ip|ip_address|anonymous_id|birth_date|date_of_birth)(_hash)?$"
)


def pii_looking(column: str) -> bool:
    return bool(PII_LOOKING_NAME.search(column.lower()))


def pii_classes(meta: dict | None) -> list[str] | None:
    """The classes a column's meta declares; [] for `pii: false`; None when it declares nothing."""
    value = (meta or {}).get("pii")
    if value is None:
        return None
    if value is False:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _columns(manifest: dict):
    """(kind, name, column, classes or None) of every documented column of every model and source."""
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") == "model":
            for column, spec in (node.get("columns") or {}).items():
                yield "model", node["name"], column, pii_classes(spec.get("meta"))
    for source in manifest.get("sources", {}).values():
        for column, spec in (source.get("columns") or {}).items():
            yield "source", f"{source['source_name']}.{source['name']}", column, pii_classes(spec.get("meta"))


def classified_columns(manifest: dict) -> dict[str, list[str]]:
    """`model.column` or `source.table.column` -> its PII classes, for every column that has any."""
    return {f"{parent}.{column}": classes for _, parent, column, classes in _columns(manifest) if classes}


def unclassified_pii_looking_columns(manifest: dict) -> list[str]:
    """Documented columns whose name looks personal but whose meta declares no `pii`."""
    return sorted(f"{parent}.{column}" for _, parent, column, classes in _columns(manifest)
                  if classes is None and pii_looking(column))


def unknown_pii_classes(manifest: dict) -> dict[str, list[str]]:
    """Columns declaring a class that is not one of PII_CLASSES (a typo would hide a column)."""
    return {f"{parent}.{column}": [c for c in classes if c not in PII_CLASSES]
            for _, parent, column, classes in _columns(manifest)
            if classes and any(c not in PII_CLASSES for c in classes)}


def clear_text_in_models(manifest: dict) -> list[str]:
    """Model columns classified as clear-text personal data (only the raw sources may hold it)."""
    return sorted(f"{parent}.{column}" for kind, parent, column, classes in _columns(manifest)
                  if kind == "model" and classes and set(classes) & set(CLEAR_TEXT_CLASSES))
