"""Source contracts: the one place that knows what the five source systems deliver.

Every landing file the pipeline accepts is described here: where it lies, its format, its
columns with types, which columns are required, keys, accepted values, and which columns are
PII. Ingestion enforces these contracts (dagster_project/ingestion/), the sample generator
writes to them, dbt staging reads the raw tables they define, and docs/source_contracts.md is
rendered from them (`python -m dagster_project.contracts > docs/source_contracts.md`; a test
keeps the two in step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Landing layout: <landing>/<system>/<entity>/<YYYY-MM-DD>.<ext>
FileFormat = Literal["csv", "jsonl"]
LANDING_LAYOUT = "landing/<system>/<entity>/<YYYY-MM-DD>.<ext>"

# Timestamps must carry an explicit UTC offset ("Z" or "+hh:mm"); naive times are rejected
# because a source's local time cannot be guessed safely.
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"

# ISO 4217 active currency codes: any shop's currency is accepted, a typo ("EURO", "US$") is not.
CURRENCIES = tuple("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD
GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT
LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR
NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP
STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG
XOF XPF YER ZAR ZMW ZWG
""".split())
ORDER_CHANNELS = ("web", "app", "store", "phone", "catalog", "marketplace")
RETURN_REASONS = ("defective", "not_as_described", "changed_mind", "wrong_item", "arrived_late",
                  "better_price_elsewhere", "other")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type of the column in the raw table
    description: str
    required: bool = False
    pii: bool = False
    accepted_values: tuple[str, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None
    # JSON columns only: an object whose values are all numbers, strings or booleans (no nesting).
    scalar_values: bool = False

    @property
    def is_timestamp(self) -> bool:
        return self.type == "TIMESTAMP"


@dataclass(frozen=True)
class SourceEntity:
    system: str
    entity: str
    format: FileFormat
    description: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    event_time: str | None = None
    # How successive files relate: "events" (each row once, in the file of its UTC date),
    # "upserts" (changed records as of the file date; the latest `updated_at` wins) or
    # "snapshot" (the full state of that date).
    delivery: Literal["events", "upserts", "snapshot"] = "events"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return f"{self.system}__{self.entity}"

    @property
    def raw_table(self) -> str:
        return f"raw.{self.name}"

    @property
    def quarantine_table(self) -> str:
        return f"raw.{self.name}__quarantine"

    @property
    def reconciliation_table(self) -> str:
        """Per landing file: rows read = loaded + quarantined + exact duplicates removed."""
        return f"raw.{self.name}__reconciliation"

    @property
    def extension(self) -> str:
        return self.format

    def landing_glob(self, landing_dir: str) -> str:
        return f"{landing_dir}/{self.system}/{self.entity}/*.{self.extension}"

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")


def _c(name, type_, description, **kw) -> Column:
    return Column(name=name, type=type_, description=description, **kw)


_MONEY = "DECIMAL(12,2)"

SYSTEMS = {
    "oms": "Order management system: orders from web, app and stores, their lines, and returns.",
    "crm": "CRM: customer records, support tickets, email engagement and marketing consent.",
    "web": "Web analytics: Segment/Snowplow-style tracking events from the shop website and app.",
    "pim": "Product information management: the catalog and customer reviews.",
    "wms": "Warehouse management: locations (warehouses and stores), stock and inbound shipments.",
}

CONTRACTS: tuple[SourceEntity, ...] = (
    # ---------------------------------------------------------------- order management
    SourceEntity(
        system="oms",
        entity="orders",
        format="csv",
        description="One row per order, written to the file of the UTC date it was placed.",
        primary_key=("order_id",),
        event_time="ordered_at",
        columns=(
            _c("order_id", "VARCHAR", "Order number.", required=True),
            _c("oms_customer_id", "VARCHAR", "OMS customer account; empty for guest checkouts."),
            _c("email", "VARCHAR", "Email typed at checkout, as typed (any case, may have spaces); empty for anonymous "
               "store sales and phone orders taken without one.", pii=True),
            _c("phone", "VARCHAR", "Phone typed at checkout, if any.", pii=True),
            _c("channel", "VARCHAR", "Where the order was placed: the shop website, the app, a store till, by phone "
               "(call centre), from a mail-order catalogue, or on a marketplace (Amazon, eBay, Zalando...).",
               required=True, accepted_values=ORDER_CHANNELS),
            _c("store_location_id", "VARCHAR", "WMS location of the store for store orders and click-and-collect."),
            _c("cart_id", "VARCHAR", "Web cart that became this order (web and app orders)."),
            _c("ordered_at", "TIMESTAMP", "When the order was placed.", required=True),
            _c("status", "VARCHAR", "Current order status.", required=True, accepted_values=("placed", "shipped", "delivered", "cancelled")),
            _c("delivered_at", "TIMESTAMP", "When the order was delivered (or collected), if the OMS records it."),
            _c("currency", "VARCHAR", "ISO 4217 currency of all amounts.", required=True, accepted_values=CURRENCIES),
            _c("subtotal_amount", _MONEY, "Sum of line amounts before order discount.", required=True, min_value=0),
            _c("discount_amount", _MONEY, "Order-level discount.", required=True, min_value=0),
            _c("shipping_amount", _MONEY, "Shipping charged.", required=True, min_value=0),
            _c("tax_amount", _MONEY, "Tax on the order. Whether line prices and the subtotal include it is a "
               "setting of the deployment (RCL_PRICES_INCLUDE_TAX), not of the row: the total includes it either way.",
               required=True, min_value=0),
            _c("total_amount", _MONEY, "Amount charged.", required=True, min_value=0),
            _c("shipping_address", "VARCHAR", "Street address.", pii=True),
            _c("shipping_postcode", "VARCHAR", "Postcode.", pii=True),
            _c("shipping_city", "VARCHAR", "City."),
            _c("shipping_region", "VARCHAR", "State, province or region (e.g. `CA`, `Bayern`), if the OMS has it."),
            _c("shipping_country", "VARCHAR", "ISO 3166-1 alpha-2 country.", required=True),
        ),
    ),
    SourceEntity(
        system="oms",
        entity="order_lines",
        format="csv",
        description="One row per order line, in the file of its order's date.",
        primary_key=("order_line_id",),
        columns=(
            _c("order_line_id", "VARCHAR", "Order line id.", required=True),
            _c("order_id", "VARCHAR", "Order the line belongs to.", required=True),
            _c("line_number", "INTEGER", "Position in the order, from 1.", required=True, min_value=1),
            _c("product_id", "VARCHAR", "PIM product id (SKU).", required=True),
            _c("quantity", "INTEGER", "Units ordered.", required=True, min_value=1),
            _c("unit_price", _MONEY, "Price per unit charged, before line discount.", required=True, min_value=0),
            _c("discount_amount", _MONEY, "Discount on the line.", required=True, min_value=0),
        ),
    ),
    SourceEntity(
        system="oms",
        entity="returns",
        format="csv",
        description="One row per returned order line, in the file of the UTC date the return was requested. The order may "
        "have been placed before the first delivered orders file (a return of an older order): the return is still loaded.",
        primary_key=("return_id",),
        event_time="requested_at",
        columns=(
            _c("return_id", "VARCHAR", "Return id.", required=True),
            _c("order_id", "VARCHAR", "Order of the returned line.", required=True),
            _c("order_line_id", "VARCHAR", "Returned order line.", required=True),
            _c("product_id", "VARCHAR", "Returned product.", required=True),
            _c("quantity", "INTEGER", "Units returned.", required=True, min_value=1),
            _c("reason", "VARCHAR", "Reason the customer gave, mapped to the closest code; `other` when none fits "
               "(the source's own wording goes to `reason_text`).", required=True, accepted_values=RETURN_REASONS),
            _c("reason_text", "VARCHAR", "The reason as the source system worded it (free text or its own code), kept as delivered."),
            _c("returned_by_oms_customer_id", "VARCHAR", "OMS account of the person who returned the item, when it is "
               "not the buyer (a gift recipient); empty when the buyer returned it or the OMS does not know."),
            _c("condition", "VARCHAR", "Condition on receipt; empty until received.", accepted_values=("unopened", "opened", "damaged")),
            _c("refund_amount", _MONEY, "Amount refunded; empty until refunded.", min_value=0),
            _c("requested_at", "TIMESTAMP", "When the return was requested.", required=True),
            _c("received_at", "TIMESTAMP", "When the warehouse received the item."),
        ),
    ),
    # ---------------------------------------------------------------- CRM
    SourceEntity(
        system="crm",
        entity="customers",
        format="csv",
        description="CRM customer records. The same person may have several records (duplicates).",
        primary_key=("crm_customer_id",),
        event_time="updated_at",
        delivery="upserts",
        columns=(
            _c("crm_customer_id", "VARCHAR", "CRM record id.", required=True),
            _c("oms_customer_id", "VARCHAR", "Linked OMS customer account, when the CRM knows it."),
            _c("email", "VARCHAR", "Email as entered (any case, may have spaces).", pii=True),
            _c("phone", "VARCHAR", "Phone as entered.", pii=True),
            _c("first_name", "VARCHAR", "First name.", pii=True),
            _c("last_name", "VARCHAR", "Last name.", pii=True),
            _c("address", "VARCHAR", "Street address.", pii=True),
            _c("postcode", "VARCHAR", "Postcode.", pii=True),
            _c("city", "VARCHAR", "City."),
            _c("region", "VARCHAR", "State, province or region (e.g. `CA`, `Bayern`)."),
            _c("country", "VARCHAR", "ISO 3166-1 alpha-2 country."),
            _c("birth_year", "INTEGER", "Year of birth, when given.", min_value=1900, max_value=2020),
            _c("created_at", "TIMESTAMP", "When the record was created.", required=True),
            _c("updated_at", "TIMESTAMP", "When the record last changed.", required=True),
        ),
        notes=("A file holds the records created or changed on its date; the latest `updated_at` wins.",),
    ),
    SourceEntity(
        system="crm",
        entity="support_tickets",
        format="csv",
        description="Support tickets, in the file of the UTC date they were opened.",
        primary_key=("ticket_id",),
        event_time="created_at",
        columns=(
            _c("ticket_id", "VARCHAR", "Ticket id.", required=True),
            _c("crm_customer_id", "VARCHAR", "CRM record, when the requester was matched."),
            _c("email", "VARCHAR", "Requester email as received.", pii=True),
            _c("order_id", "VARCHAR", "Order the ticket is about, if any."),
            _c("channel", "VARCHAR", "How the ticket came in.", required=True, accepted_values=("email", "chat", "phone", "web_form", "social")),
            _c("topic", "VARCHAR", "Classified topic.", required=True,
               accepted_values=("delivery", "return", "product_question", "payment", "warranty", "account", "other")),
            _c("status", "VARCHAR", "Current status.", required=True, accepted_values=("open", "pending", "solved")),
            _c("priority", "VARCHAR", "Priority.", required=True, accepted_values=("low", "normal", "high")),
            _c("satisfaction_score", "INTEGER", "CSAT 1-5 after solving, if answered.", min_value=1, max_value=5),
            _c("created_at", "TIMESTAMP", "When the ticket was opened.", required=True),
            _c("solved_at", "TIMESTAMP", "When it was solved."),
        ),
    ),
    SourceEntity(
        system="crm",
        entity="email_events",
        format="csv",
        description="Email engagement: sends, opens, clicks, bounces and unsubscribes, in the file of their UTC date.",
        primary_key=("email_event_id",),
        event_time="occurred_at",
        columns=(
            _c("email_event_id", "VARCHAR", "Event id.", required=True),
            _c("crm_customer_id", "VARCHAR", "Recipient CRM record.", required=True),
            _c("campaign_id", "VARCHAR", "Campaign or flow.", required=True),
            _c("event_type", "VARCHAR", "What happened.", required=True,
               accepted_values=("send", "open", "click", "bounce", "unsubscribe")),
            _c("url", "VARCHAR", "Clicked link (clicks only)."),
            _c("occurred_at", "TIMESTAMP", "When it happened.", required=True),
            _c("content_variant_id", "VARCHAR",
               "Subject-line variant this recipient was sent, when the campaign tests several (every event "
               "of the send repeats it); empty otherwise."),
        ),
        notes=("An export without `content_variant_id` runs no subject-line tests: it is not an error.",),
    ),
    SourceEntity(
        system="crm",
        entity="marketing_consents",
        format="csv",
        description="Consent changes per CRM record and channel; the latest per record and channel is in force.",
        primary_key=("consent_event_id",),
        event_time="recorded_at",
        columns=(
            _c("consent_event_id", "VARCHAR", "Consent change id.", required=True),
            _c("crm_customer_id", "VARCHAR", "CRM record.", required=True),
            _c("channel", "VARCHAR", "Marketing channel.", required=True, accepted_values=("email", "sms", "personalization")),
            _c("is_granted", "BOOLEAN", "true = opted in, false = opted out.", required=True),
            _c("source", "VARCHAR", "Where the change was made.", required=True,
               accepted_values=("checkout", "account_page", "email_link", "store", "support", "import", "other")),
            _c("recorded_at", "TIMESTAMP", "When the change was recorded.", required=True),
        ),
    ),
    # ---------------------------------------------------------------- web analytics
    SourceEntity(
        system="web",
        entity="events",
        format="jsonl",
        description=(
            "Tracking events as JSON lines, one object per line, in the file of their UTC date, shaped "
            "like Segment/Snowplow exports: `type` is page, track or identify; track events carry "
            "`event` and `properties`; identify events carry `traits`."
        ),
        primary_key=("message_id",),
        event_time="timestamp",
        columns=(
            _c("message_id", "VARCHAR", "Unique event id (retries of the same event repeat it).", required=True),
            _c("type", "VARCHAR", "Call type.", required=True, accepted_values=("page", "track", "identify")),
            _c("event", "VARCHAR", "Track event name (track calls only).",
               accepted_values=("Products Searched", "Product Viewed", "Product Added", "Product Removed",
                                "Checkout Step Viewed", "Order Completed")),
            _c("anonymous_id", "VARCHAR", "Browser/app install cookie id.", required=True),
            _c("user_id", "VARCHAR", "Logged-in OMS customer account id, when logged in."),
            _c("timestamp", "TIMESTAMP", "When the event happened on the device (ISO 8601 with offset).", required=True),
            _c("context", "JSON",
               "Object: page {path, url, referrer, title}, device {type: desktop|mobile|tablet}, "
               "user_agent, ip (PII), campaign {source, medium, name} from UTM parameters, "
               "app {version} for app events.", required=True),
            _c("properties", "JSON",
               "Object for track/page calls: product_id, price, quantity, cart_id, query (search terms), "
               "step (checkout step 1-4: cart, shipping, payment, review), shipping_amount, order_id, revenue, currency."),
            _c("traits", "JSON", "Object for identify calls: email (PII), phone (PII)."),
            _c("content_variant_id", "VARCHAR",
               "Variant of the page's content (e.g. product-page copy) the visitor was shown, on page calls "
               "of pages under a content test; absent otherwise."),
        ),
        notes=(
            "Unknown keys inside context/properties/traits are kept as they come.",
            "An export without `content_variant_id` runs no content tests: it is not an error.",
            "`user_id` is the OMS customer account id: the web shop logs in against the OMS.",
        ),
    ),
    # ---------------------------------------------------------------- PIM
    SourceEntity(
        system="pim",
        entity="products",
        format="jsonl",
        description="Catalog export as JSON lines: the products created or changed on the file date (the latest `updated_at` wins).",
        primary_key=("product_id",),
        event_time="updated_at",
        delivery="upserts",
        columns=(
            _c("product_id", "VARCHAR", "SKU.", required=True),
            _c("name", "VARCHAR", "Product name.", required=True),
            _c("brand", "VARCHAR", "Brand.", required=True),
            _c("category_path", "VARCHAR", "Category path from the root, ' > '-separated (e.g. 'Audio > Headphones > Over-ear').", required=True),
            _c("price", _MONEY, "Current list price, tax included.", required=True, min_value=0),
            _c("cost", _MONEY, "Unit cost.", min_value=0),
            _c("currency", "VARCHAR", "ISO 4217 currency.", required=True, accepted_values=CURRENCIES),
            _c("description", "VARCHAR", "Marketing description."),
            _c("specs", "JSON", "Technical specs: object of name -> number, string or boolean; the keys depend on the category.", required=True,
               scalar_values=True),
            _c("is_active", "BOOLEAN", "Sellable.", required=True),
            _c("launched_at", "TIMESTAMP", "First day on sale."),
            _c("updated_at", "TIMESTAMP", "When the record last changed.", required=True),
        ),
    ),
    SourceEntity(
        system="pim",
        entity="reviews",
        format="jsonl",
        description="Customer reviews as JSON lines, in the file of the UTC date they were submitted.",
        primary_key=("review_id",),
        event_time="submitted_at",
        columns=(
            _c("review_id", "VARCHAR", "Review id.", required=True),
            _c("product_id", "VARCHAR", "Reviewed product.", required=True),
            _c("oms_customer_id", "VARCHAR", "Reviewer's OMS account, when logged in."),
            _c("rating", "INTEGER", "Stars 1-5.", required=True, min_value=1, max_value=5),
            _c("title", "VARCHAR", "Review title."),
            _c("body", "VARCHAR", "Review text."),
            _c("is_verified_purchase", "BOOLEAN", "The reviewer bought the product.", required=True),
            _c("submitted_at", "TIMESTAMP", "When it was submitted.", required=True),
        ),
    ),
    # ---------------------------------------------------------------- warehouse management
    SourceEntity(
        system="wms",
        entity="locations",
        format="csv",
        description="Warehouses and stores. Each file is the full list as of its date.",
        primary_key=("location_id",),
        delivery="snapshot",
        columns=(
            _c("location_id", "VARCHAR", "Location id.", required=True),
            _c("location_type", "VARCHAR", "Kind of location.", required=True, accepted_values=("warehouse", "store")),
            _c("name", "VARCHAR", "Display name.", required=True),
            _c("city", "VARCHAR", "City.", required=True),
            _c("region", "VARCHAR", "State, province or region (e.g. `CA`, `Bayern`)."),
            _c("postal_code", "VARCHAR", "Postal code of the location (a business address, not PII)."),
            _c("country", "VARCHAR", "ISO 3166-1 alpha-2 country.", required=True),
            _c("latitude", "DOUBLE", "WGS84 latitude, if known.", min_value=-90, max_value=90),
            _c("longitude", "DOUBLE", "WGS84 longitude, if known.", min_value=-180, max_value=180),
            _c("is_click_and_collect", "BOOLEAN", "Offers pick-up of web orders.", required=True),
        ),
    ),
    SourceEntity(
        system="wms",
        entity="inventory_snapshots",
        format="csv",
        description="Stock counts per product and location, at whatever cadence the WMS exports them: daily, weekly, "
        "or on change. A file holds one or more counts (`snapshot_date`).",
        primary_key=("snapshot_date", "product_id", "location_id"),
        event_time="snapshot_at",
        delivery="snapshot",
        columns=(
            _c("snapshot_date", "DATE", "Business date of the snapshot.", required=True),
            _c("product_id", "VARCHAR", "SKU.", required=True),
            _c("location_id", "VARCHAR", "Location.", required=True),
            _c("on_hand", "INTEGER", "Units physically present.", required=True, min_value=0),
            _c("reserved", "INTEGER", "Units promised to open orders.", required=True, min_value=0),
            _c("snapshot_at", "TIMESTAMP", "When the snapshot was taken.", required=True),
        ),
        notes=(
            "A location's count of a date is complete: products absent from it have no stock there on that date.",
            "Between two counts the latest count is in force; features say how old it is (`snapshot_age_days`).",
        ),
    ),
    SourceEntity(
        system="wms",
        entity="inbound_shipments",
        format="csv",
        description="Purchase-order shipments expected at a location, in the file of the UTC date they were announced.",
        primary_key=("shipment_id",),
        event_time="announced_at",
        columns=(
            _c("shipment_id", "VARCHAR", "Shipment line id.", required=True),
            _c("product_id", "VARCHAR", "SKU.", required=True),
            _c("location_id", "VARCHAR", "Receiving location.", required=True),
            _c("quantity", "INTEGER", "Units expected.", required=True, min_value=1),
            _c("announced_at", "TIMESTAMP", "When the supplier announced it.", required=True),
            _c("expected_at", "TIMESTAMP", "Expected arrival.", required=True),
            _c("received_at", "TIMESTAMP", "Actual arrival; empty while in transit."),
        ),
    ),
)

CONTRACTS_BY_NAME = {c.name: c for c in CONTRACTS}


def get_contract(system: str, entity: str) -> SourceEntity:
    return CONTRACTS_BY_NAME[f"{system}__{entity}"]


# ---------------------------------------------------------------- documentation

_DOCUMENT_TITLE = (
    "# Source contracts",
    "",
    "<!-- Rendered from dagster_project/contracts.py by `python -m dagster_project.contracts`; do not edit by hand. -->",
    "",
    "What each of the five source systems delivers, precisely enough to export real data into it.",
    "",
)

# The rules that hold for every landing file, whatever its system.
_RULES_FOR_EVERY_FILE = (
    "## Rules for every file",
    "",
    f"- **Layout**: `{LANDING_LAYOUT}`; `<date>` is the UTC date of the rows (or of the snapshot).",
    "  Re-delivering a file with the same name replaces it; a correction for an earlier day is a new",
    "  file of that day's name or a later file with the corrected rows (events are de-duplicated on",
    "  their primary key, the latest file winning).",
    "- **File names**: `<YYYY-MM-DD>.csv` or `<YYYY-MM-DD>.jsonl`, optionally gzip-compressed",
    "  (`.csv.gz`, `.jsonl.gz`); the extension may be upper-case. Anything else in the folder is not",
    "  read and is listed as ignored with its reason: hidden files (`.*`, macOS `._*`), uploads in",
    "  progress (`.part`, `.tmp`, `.partial`, `.crdownload`, `.filepart`, `.uploading`, `~`), other",
    "  formats, READMEs. Upload under a temporary name and rename when complete. A file named after",
    "  a date later than the load's day (plus one day), after a day that does not exist, or before",
    "  every one of its rows' event times is rejected: all its rows are quarantined with that reason.",
    "- **Folders**: every source entity's folder must exist (empty until the first delivery). A",
    "  missing folder, or a full reload that finds no files where rows were loaded before, fails",
    "  that source's ingestion and leaves its raw table as it was.",
    "- **CSV**: UTF-8, comma-separated, one header row with exactly the column names",
    "  below (any order; no empty or repeated names), `\"` quoting (a quote inside a quoted value",
    "  doubled), empty field = null, `.` as decimal separator, no thousands separators or currency",
    "  symbols. Values may span lines inside quotes; the quarantine names the line a record starts on.",
    "- **JSON lines**: UTF-8, one JSON object per line; the keys are the columns below, each at most",
    "  once per object (at any depth); nested columns (type JSON) are objects. Blank lines are allowed",
    "  and count as lines.",
    "- **Timestamps**: ISO 8601 with an explicit offset (`2026-03-01T14:05:09Z` or",
    "  `2026-03-01T15:05:09+01:00`, `+0100`; seconds and up to 9 fraction digits optional, stored to",
    "  the microsecond). The value must be a real instant: a real calendar date, hours 00-23,",
    "  minutes and seconds 00-59 (no `24:00`, no leap second `:60`), an offset within ±14:00.",
    "  Naive timestamps are rejected: the pipeline stores UTC.",
    "- **Dates**: `YYYY-MM-DD`, a real date. **Money**: decimal with at most 2 places (`12.345` is",
    "  rejected, not rounded), in the row's `currency`. **Integers**: whole numbers (`12`, `-3`,",
    "  `+7`); `1.5`, `1.0` and `1e3` are rejected. **Doubles**: finite numbers (no `NaN`, `inf`).",
    "- **Booleans**: `true`/`false` (any case); `yes`, `1`, `t` are rejected.",
    "- **Text** is stored as delivered, surrounding whitespace included; a value of only whitespace",
    "  is empty. Columns with a list of accepted values are compared and stored without the",
    "  whitespace around them.",
    "- **Required** columns must be present and non-empty on every row; a row that breaks the",
    "  contract (missing key, wrong type, value outside the accepted set or range, naive or impossible",
    "  timestamp) is kept out of the warehouse and written to `raw.<system>__<entity>__quarantine`",
    "  with its file, line and reason. A file missing a required column fails that source's",
    "  ingestion with a message naming the file and the column.",
    "- **Also quarantined**: event times more than a day after the load (clock or time-zone bugs),",
    "  event times older than the event horizon (`RCL_EVENT_HORIZON_DAYS`, 10 years by default)",
    "  before their file's date (placeholder dates such as 1970-01-01), and, for `events` and",
    "  `snapshot` deliveries, a second row with the primary key of an earlier row of the same file",
    "  but different content. Exact duplicate rows (identical content, in the same or another file)",
    "  are loaded once and counted as duplicates removed.",
    "- **Schema drift**: columns (or JSON keys) not listed below are kept in the raw table's",
    "  `_extra_columns` JSON and reported as a warning; a column whose values almost all fail to",
    "  parse as its type (a changed type) fails that source's ingestion naming file, column and value.",
    "- **PII** columns stay in the raw layer (the PII zone). From staging on, emails and phones",
    "  exist only as salted hashes (used for identity matching), and names, street addresses,",
    "  postcodes and IP addresses are dropped; none of them reach marts, feature tables or the",
    "  online store.",
    "",
)


def _column_rule(col: Column) -> str:
    """The value rule of a column as the table's `rule` cell (empty when only the type applies)."""
    rule = []
    if col.accepted_values == CURRENCIES:
        rule.append("an ISO 4217 currency code")
    elif col.accepted_values:
        rule.append("one of " + ", ".join(f"`{v}`" for v in col.accepted_values))
    if col.min_value is not None:
        rule.append(f"≥ {col.min_value:g}")
    if col.max_value is not None:
        rule.append(f"≤ {col.max_value:g}")
    if col.scalar_values:
        rule.append("object of numbers, strings or booleans")
    return "; ".join(rule)


def _column_row(col: Column) -> str:
    type_name = "TIMESTAMP (with offset)" if col.is_timestamp else col.type
    return (
        f"| `{col.name}` | {type_name} | {'yes' if col.required else ''} | "
        f"{'yes' if col.pii else ''} | {_column_rule(col)} | {col.description} |"
    )


def _entity_section(contract: SourceEntity) -> list[str]:
    """One source entity: where its files lie, its key and delivery, and its columns."""
    lines = [
        f"### `{contract.system}/{contract.entity}` ({contract.format})",
        "",
        contract.description,
        "",
        f"- File: `landing/{contract.system}/{contract.entity}/<YYYY-MM-DD>.{contract.extension}`",
        f"- Primary key: `{', '.join(contract.primary_key)}`",
        f"- Delivery: {contract.delivery}" + (f"; event time `{contract.event_time}`" if contract.event_time else ""),
        f"- Raw table: `{contract.raw_table}`",
    ]
    lines += [f"- {note}" for note in contract.notes]
    lines += [
        "",
        "| column | type | required | PII | rule | description |",
        "|---|---|---|---|---|---|",
    ]
    lines += [_column_row(col) for col in contract.columns]
    lines.append("")
    return lines


def _system_section(system: str, system_description: str) -> list[str]:
    lines = [f"## `{system}` — {system_description}", ""]
    for contract in (c for c in CONTRACTS if c.system == system):
        lines += _entity_section(contract)
    return lines


def render_markdown() -> str:
    """docs/source_contracts.md: the rules for every file, then each system's entities."""
    lines = [*_DOCUMENT_TITLE, *_RULES_FOR_EVERY_FILE]
    for system, system_description in SYSTEMS.items():
        lines += _system_section(system, system_description)
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown(), end="")
