"""Availability messaging: stock per product and location (fed in real time by the WMS's stock
pushes) and per product across locations, and the `availability_v1` service. Tables:
dbt/models/features/stock_by_location.sql and stock_by_product.sql."""

from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, PushSource, ValueType
from feast.types import Bool, Float64, Int64, String

from feature_repo.entities import product

location = Entity(
    name="location",
    join_keys=["location_id"],
    value_type=ValueType.STRING,
    description="A warehouse or store of the WMS (stg_wms__locations).",
    tags={"owner": "availability", "dbt_model": "stg_wms__locations"},
)

stock_by_location_source = FileSource(
    name="stock_by_location_source",
    path="stock_by_location.parquet",
    timestamp_field="event_timestamp",
    description="dbt model features/stock_by_location, one row per stock count of a product at a location.",
)

# The WMS pushes each stock change (POST /push, or FeatureStore.push); see docs/availability.md.
stock_by_location_push = PushSource(
    name="stock_by_location_push",
    batch_source=stock_by_location_source,
    description="Stock changes pushed by the WMS: product_id, location_id, event_timestamp and the stock_by_location columns.",
    tags={"producer": "wms"},
)

stock_by_product_source = FileSource(
    name="stock_by_product_source",
    path="stock_by_product.parquet",
    timestamp_field="event_timestamp",
    description="dbt model features/stock_by_product, one row per product and moment a location's count changed it.",
)

STOCK_FIELDS = [
    Field(name="units_on_hand", dtype=Int64, description="Units physically present at the count."),
    Field(name="units_reserved", dtype=Int64, description="Units promised to open orders at the count."),
    Field(name="units_available", dtype=Int64, description="Available to promise: on hand minus reserved, never below zero."),
    Field(name="is_in_stock", dtype=Bool, description="At least one unit available to promise."),
    Field(name="is_low_stock", dtype=Bool, description="1 to low_stock_units (dbt var) units available to promise."),
    Field(name="units_sold_per_day", dtype=Float64, description="Units sold per day over the stock_velocity_days (dbt var) days up to the count."),
    Field(name="days_of_cover", dtype=Float64, description="units_available / units_sold_per_day; null when nothing sold in the window."),
    Field(name="next_inbound_on", dtype=String, description="Expected date (YYYY-MM-DD) of the soonest open inbound shipment announced by the count's day; null: none."),
    Field(name="next_inbound_units", dtype=Int64, description="Units of the soonest open inbound shipment(s); null: none."),
    Field(name="stock_counted_at", dtype=String, description="When the count behind the figures was taken (ISO 8601 UTC); the snapshot age is the serving time minus this (for totals: the oldest count)."),
]

stock_by_location = FeatureView(
    name="stock_by_location",
    entities=[product, location],
    # A count older than two weeks is not served as present: a store message must not cite it.
    ttl=timedelta(days=14),
    schema=[
        Field(name="location_type", dtype=String, description="warehouse or store."),
        Field(name="region", dtype=String, description="State, province or region of the location (WMS)."),
        Field(name="postal_code", dtype=String, description="Postal code of the location (a business address)."),
        Field(name="is_click_and_collect", dtype=Bool, description="The location offers pick-up of web orders."),
        *STOCK_FIELDS,
    ],
    source=stock_by_location_push,
    online=True,
    description="Stock of a product at a location as of each count, with cover, low-stock flag and next inbound. Fresh online via WMS pushes.",
)

stock_by_product = FeatureView(
    name="stock_by_product",
    entities=[product],
    ttl=timedelta(days=14),
    schema=[
        Field(name="total_units_on_hand", dtype=Int64, description="Units on hand across locations (each location's latest count)."),
        Field(name="total_units_reserved", dtype=Int64, description="Units reserved across locations."),
        Field(name="total_units_available", dtype=Int64, description="Available to promise across locations."),
        Field(name="locations_in_stock", dtype=Int64, description="Locations with units available."),
        Field(name="stores_in_stock", dtype=Int64, description="Stores with units available."),
        Field(name="pickup_stores_in_stock", dtype=Int64, description="Click-and-collect stores with units available."),
        Field(name="stores_in_stock_by_region", dtype=String, description="Stores with units available per region, 'region:count' comma-separated, regions sorted (empty: none)."),
        Field(name="is_in_stock_anywhere", dtype=Bool, description="Any unit available anywhere."),
        Field(name="is_low_stock_overall", dtype=Bool, description="1 to low_stock_units (dbt var) units available across locations."),
        Field(name="total_units_sold_per_day", dtype=Float64, description="Units sold per day across locations over the stock_velocity_days (dbt var) days."),
        Field(name="total_days_of_cover", dtype=Float64, description="total_units_available / total_units_sold_per_day across locations; null when nothing sold."),
        Field(name="soonest_inbound_on", dtype=String, description="Expected date (YYYY-MM-DD) of the soonest open inbound shipment at any location; null: none."),
        Field(name="soonest_inbound_units", dtype=Int64, description="Units expected on soonest_inbound_on across locations; null: none."),
        Field(name="oldest_count_at", dtype=String, description="When the oldest count behind the totals was taken (ISO 8601 UTC)."),
    ],
    source=stock_by_product_source,
    online=True,
    description="Stock of a product across locations (each location's latest count), with stores in stock per region.",
)

availability_v1 = FeatureService(
    name="availability_v1",
    features=[stock_by_product, stock_by_location],
    description="Availability messages ('only 3 left', 'pick up at 2 stores in your region', 'back on Thursday').",
    tags={"owner": "availability", "consumer": "availability-messaging"},
)
