"""The knobs that make one generated retailer differ from another (WorldProfile).

The domain modules (people.py, orders.py, ...) own how a world is simulated, in the order
generator.py writes down; a profile owns what the retailer is: its reference data (names,
cities, catalogue, locations), which sources it has, how its orders are taken, priced, taxed and
shipped, and how its stock is counted. Every knob's default is the
demo shop's behaviour, so a profile only names what differs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorldProfile:
    name: str
    shop_url: str
    currency: str
    # People: countries and their reference data, keyed by ISO 3166-1 alpha-2 code.
    countries: tuple[str, ...]
    country_p: tuple[float, ...]
    first_names: dict
    last_names: dict
    # country -> [(city, first postcode, postcode span[, region, phone area codes, sales-tax rate])]
    cities: dict
    streets: dict
    email_domains: dict
    # country -> (calling code with +, mobile prefixes); unused for "nanp" phones (area codes per city)
    phone_prefixes: dict
    junk_emails: tuple[str, ...]
    # Catalogue: (leaf path, share, popularity, price range, brands, name template, specs, search
    # terms, often defective[, delivery fee per unit in cents]) per category.
    categories: list
    accessory_categories: frozenset
    # Locations: (city, latitude or None, longitude or None[, region, postal code])
    warehouses: list
    stores: list
    warehouse_name: str  # format with {city}
    store_name: str
    # "international": +49151..., +49 151 ..., 0151 ...; "nanp": (415) 555-0134, 415.555.0134, +1 415 555 0134
    phone_style: str = "international"
    street_number_first: tuple[str, ...] = ("FR",)
    account_p: float = 0.6
    orders_per_person_year: float | None = None  # None: the scale's own
    # Local time of day as UTC: the hour weights are rolled by this many hours.
    utc_hour_shift: int = 0
    # Which sources the retailer has at all (a source it lacks has an empty landing folder).
    has_web: bool = True
    has_reviews: bool = True
    # Order channels: codes into contracts.ORDER_CHANNELS and the upper bounds of a uniform draw.
    channel_codes: tuple[int, ...] = (0, 1, 2)
    channel_bounds: tuple[float, ...] = (0.70, 0.85)
    order_id_prefix: str = "O"
    order_id_width: int = 7
    order_id_start: int = 1_000_001
    # Multi-channel rules (all off for the demo shop): store sales without any identifier, phone
    # orders, marketplace orders (the marketplace keeps the e-mail), project orders (a kitchen).
    anonymous_store_p: float = 0.0
    phone_order_email_p: float = 1.0
    marketplace_phone_p: float = 0.0
    project_order_p: float = 0.0
    project_categories: tuple[str, ...] = ()
    project_lines: tuple[int, int] = (5, 8)
    # Prices and shipping: tax-inclusive prices with one VAT rate, or sales tax added per region.
    prices_include_tax: bool = True
    vat_percent: int = 19
    flat_shipping: int = 499
    free_shipping_from: int = 5000
    records_delivered_at: bool = False
    delivery_days: tuple[int, int] = (2, 6)
    # Returns: reason texts as the OMS words them (reason code, text, weight); empty: codes only.
    return_reason_texts: tuple = ()
    old_order_returns_share: float = 0.0  # returns of orders placed before the first orders file
    returned_by_other_p: float = 0.0
    # Content experiments: the relative success rates of the variants of every product page copy
    # and every newsletter subject line (A, B, C, ... in a random order per piece); empty: none.
    content_variant_lifts: tuple[float, ...] = (0.7, 1.0, 1.3)
    # Stock counts: None = a count every day; 0-6 = one full count a week on that weekday (6 = Sunday).
    snapshot_weekday: int | None = None
