"""The warehouse system: warehouses and stores (Locations) with their assortment, and the stock
simulation that turns order demand into daily inventory snapshots and inbound shipments."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dagster_project.sample_data.catalog import Catalog
from dagster_project.sample_data.columns import dictionary_column, nullable_column, numbered_in_order, sequential_ids
from dagster_project.sample_data.orders import Orders
from dagster_project.sample_data.profile import WorldProfile
from dagster_project.sample_data.scales import Sizes
from dagster_project.sample_data.window import DAY, HOUR, Window, day_of

ARRIVAL_RING_DAYS = 64  # longer than any lead time: arrivals are booked into a ring of days


@dataclass(frozen=True)
class Locations:
    ids: list[str]  # warehouses first (WH-01 ...), then stores (ST-01 ...)
    is_warehouse: np.ndarray
    names: list[str]
    cities: list[str]
    no_coordinates: np.ndarray  # the WMS has none for this location
    latitude: np.ndarray
    longitude: np.ndarray
    regions: list[str | None]
    postal_codes: list[str | None]
    click_and_collect: np.ndarray
    click_and_collect_stores: np.ndarray
    sales_tax: np.ndarray  # of the store's city, where tax is added on top of prices
    assortment: np.ndarray  # store -> the products it carries (a popular-leaning part of the evergreen range)

    @property
    def count(self) -> int:
        return len(self.ids)


def build_locations(rng: np.random.Generator, sizes: Sizes, profile: WorldProfile, catalog: Catalog) -> Locations:
    n_warehouses, n_stores = sizes.warehouses, sizes.stores
    count = n_warehouses + n_stores
    is_warehouse = np.arange(count) < n_warehouses
    places = profile.warehouses[:n_warehouses] + profile.stores[:n_stores]
    jitter = rng.normal(0, 0.01, size=(count, 2))
    cities = [place[0] for place in places]
    click_and_collect = np.where(is_warehouse, False, rng.random(count) < 0.85)
    click_and_collect[n_warehouses] = True  # at least one click-and-collect store
    # sales tax of a store's city (regions with sales tax on top of prices)
    rates = {row[0]: row[5] for rows in profile.cities.values() for row in rows if len(row) > 5}
    carried = max(10, int(round(sizes.store_assortment * catalog.count)))
    carried = min(carried, len(catalog.evergreen))
    assortment = np.stack([np.sort(rng.choice(catalog.evergreen, size=carried, replace=False, p=catalog.evergreen_p))
                           for _ in range(n_stores)])
    return Locations(
        ids=[f"WH-{i + 1:02d}" for i in range(n_warehouses)] + [f"ST-{i + 1:02d}" for i in range(n_stores)],
        is_warehouse=is_warehouse,
        names=([profile.warehouse_name.format(city=p[0]) for p in profile.warehouses[:n_warehouses]]
               + [profile.store_name.format(city=p[0]) for p in profile.stores[:n_stores]]),
        cities=cities,
        no_coordinates=np.array([place[1] is None for place in places]),
        latitude=np.round(np.array([place[1] or 0.0 for place in places]) + jitter[:, 0], 4),
        longitude=np.round(np.array([place[2] or 0.0 for place in places]) + jitter[:, 1], 4),
        regions=[place[3] if len(place) > 3 else None for place in places],
        postal_codes=[place[4] if len(place) > 4 else None for place in places],
        click_and_collect=click_and_collect,
        click_and_collect_stores=np.flatnonzero(click_and_collect),
        sales_tax=np.array([rates.get(city, 0.0) for city in cities]),
        assortment=assortment,
    )


def locations_table(locations: Locations, window: Window, profile: WorldProfile) -> pa.Table:
    count = locations.count
    table = pa.table({
        "location_id": pa.array(locations.ids),
        "location_type": dictionary_column(np.where(locations.is_warehouse, 0, 1), ["warehouse", "store"]),
        "name": pa.array(locations.names),
        "city": pa.array(locations.cities),
        "country": pa.array([profile.countries[0]] * count),
        "latitude": nullable_column(locations.latitude, locations.no_coordinates),
        "longitude": nullable_column(locations.longitude, locations.no_coordinates),
        "is_click_and_collect": pa.array(locations.click_and_collect),
        "_day": np.full(count, window.first_day, dtype=np.int32),
    })
    if any(region is not None for region in locations.regions):
        table = table.append_column("region", pa.array(locations.regions, pa.string()))
        table = table.append_column("postal_code", pa.array(locations.postal_codes, pa.string()))
    return table


@dataclass(frozen=True)
class _StockedPairs:
    """The (location, product) pairs that hold stock, in location then product order."""
    location: np.ndarray
    product: np.ndarray
    lookup: np.ndarray  # (location, product) -> pair; -1: not stocked there


def _stocked_pairs(sizes: Sizes, catalog: Catalog, locations: Locations) -> _StockedPairs:
    """Warehouse 1 stocks everything sold, other warehouses the popular half, stores their assortment."""
    sold_ever = ~catalog.inactive_before_window
    popular_half = catalog.popularity >= np.median(catalog.popularity)
    lookup = np.full((locations.count, catalog.count), -1, dtype=np.int64)
    pair_location, pair_product = [], []
    pairs_so_far = 0
    for location in range(locations.count):
        if location == 0:
            products = np.flatnonzero(sold_ever)
        elif location < sizes.warehouses:
            products = np.flatnonzero(sold_ever & popular_half)
        else:
            products = locations.assortment[location - sizes.warehouses]
        lookup[location, products] = pairs_so_far + np.arange(len(products))
        pairs_so_far += len(products)
        pair_location.append(np.full(len(products), location))
        pair_product.append(products)
    return _StockedPairs(np.concatenate(pair_location), np.concatenate(pair_product), lookup)


def _daily_demand(rng: np.random.Generator, window: Window, sizes: Sizes, orders: Orders,
                  pairs: _StockedPairs) -> np.ndarray:
    """Units per pair and day from non-cancelled order lines: store sales from the store, the
    rest from a random warehouse that stocks the product (else warehouse 1)."""
    line_order = orders.line_order
    live = orders.status[line_order] != 3
    store_line = orders.channel[line_order] == 2
    warehouse = rng.integers(0, sizes.warehouses, len(line_order))
    pair = np.where(store_line, pairs.lookup[np.maximum(orders.store[line_order], 0), orders.line_product],
                    pairs.lookup[warehouse, orders.line_product])
    pair = np.where(pair < 0, pairs.lookup[0, orders.line_product], pair)
    day = (orders.ordered_at[line_order] - window.start) // DAY
    counted = live & (pair >= 0)
    n_pairs, days = len(pairs.location), sizes.days
    return np.bincount(pair[counted] * days + day[counted], weights=orders.line_quantity[counted],
                       minlength=n_pairs * days).astype(np.int32).reshape(n_pairs, days)


def build_inventory(rng: np.random.Generator, window: Window, sizes: Sizes, profile: WorldProfile,
                    catalog: Catalog, locations: Locations, orders: Orders) -> tuple[pa.Table, pa.Table]:
    """wms/inventory_snapshots and wms/inbound_shipments."""
    pairs = _stocked_pairs(sizes, catalog, locations)
    demand = _daily_demand(rng, window, sizes, orders, pairs)
    history = _simulate_stock(rng, window, sizes, catalog, locations, pairs, demand)
    snapshots = _snapshots_table(window, sizes, profile, catalog, locations, pairs, history)
    return snapshots, _shipments_table(rng, window, sizes, catalog, locations, pairs, history["shipments"])


def _simulate_stock(rng: np.random.Generator, window: Window, sizes: Sizes, catalog: Catalog,
                    locations: Locations, pairs: _StockedPairs, demand: np.ndarray) -> dict:
    """Day by day: arrivals, sales, reservations and reorders below the reorder point."""
    n_pairs, days = len(pairs.location), sizes.days
    mean_demand = demand.mean(1) + 0.02
    is_warehouse = locations.is_warehouse[pairs.location]
    target = np.ceil(mean_demand * np.where(is_warehouse, 21, 14)).astype(np.int64) + 2
    reorder_point = np.ceil(mean_demand * 7).astype(np.int64) + 1
    start_day = np.clip((np.maximum(catalog.launched_at[pairs.product] - 5 * DAY, window.start) - window.start) // DAY,
                        0, days)
    on_hand = np.zeros(n_pairs, dtype=np.int64)
    initial = rng.integers(reorder_point, target + 1)
    initial = np.where(rng.random(n_pairs) < 0.02, 0, initial)  # some start out of stock
    slow_supplier = rng.random(n_pairs) < 0.04  # supplier problems: long lead times
    stops = catalog.deactivated_at[pairs.product]
    arrivals = np.zeros((ARRIVAL_RING_DAYS, n_pairs), dtype=np.int64)
    in_transit = np.zeros(n_pairs, dtype=np.int64)
    on_hand_history = np.zeros((days, n_pairs), dtype=np.int32)
    reserved_history = np.zeros((days, n_pairs), dtype=np.int32)
    shipments = {k: [] for k in ("pair", "quantity", "announced", "expected", "arrival_day")}
    for d in range(days):
        arrived = arrivals[d % ARRIVAL_RING_DAYS]
        on_hand += arrived
        in_transit -= arrived
        arrivals[d % ARRIVAL_RING_DAYS] = 0
        starts = start_day == d
        on_hand[starts] = initial[starts]
        sold = np.minimum(on_hand, demand[:, d])
        on_hand -= sold
        reserved = np.minimum(on_hand, np.where(is_warehouse, rng.binomial(demand[:, d], 0.35),
                                                rng.poisson(0.05, n_pairs)))
        on_hand_history[d] = on_hand
        reserved_history[d] = reserved
        day_start = window.start + d * DAY
        reorder = np.flatnonzero((d >= start_day) & (on_hand + in_transit <= reorder_point) & (stops > day_start + DAY))
        if len(reorder):
            quantity = target[reorder] - on_hand[reorder] - in_transit[reorder]
            lead = rng.integers(2, 8, len(reorder)) + np.where(slow_supplier[reorder],
                                                               rng.integers(8, 25, len(reorder)), 0)
            delay = rng.choice([-1, 0, 1, 2, 4], size=len(reorder), p=[0.05, 0.75, 0.1, 0.06, 0.04])
            arrival_day = d + np.maximum(lead + delay, 1)
            shipments["pair"].append(reorder)
            shipments["quantity"].append(quantity)
            shipments["announced"].append(day_start + rng.integers(7 * HOUR, 18 * HOUR, len(reorder)))
            shipments["expected"].append(window.start + (d + lead) * DAY + 10 * HOUR)
            shipments["arrival_day"].append(arrival_day)
            in_transit[reorder] += quantity
            inside = arrival_day < days
            np.add.at(arrivals, (arrival_day[inside] % ARRIVAL_RING_DAYS, reorder[inside]), quantity[inside])
    return dict(start_day=start_day, is_warehouse=is_warehouse, on_hand=on_hand_history,
                reserved=reserved_history, shipments=shipments)


def _snapshots_table(window: Window, sizes: Sizes, profile: WorldProfile, catalog: Catalog,
                     locations: Locations, pairs: _StockedPairs, history: dict) -> pa.Table:
    """Warehouses list every stocked product (0 = stock-out); stores drop empty shelves. A
    retailer that counts weekly lists every product a location carries, once a week."""
    days, start_day, on_hand, reserved = sizes.days, history["start_day"], history["on_hand"], history["reserved"]
    started = np.arange(days)[:, None] >= start_day[None, :]
    shown = started & (history["is_warehouse"][None, :] | (on_hand > 0) | (reserved > 0))
    if profile.snapshot_weekday is not None:
        weekday = (window.first_day + np.arange(days) + 3) % 7  # 1970-01-01 was a Thursday (3)
        shown = started & (weekday == profile.snapshot_weekday)[:, None]
    day_index, pair_index = np.nonzero(shown)
    snapshot_day = (window.first_day + day_index).astype(np.int32)
    # order within a day: location, product (pairs are built in that order; products sorted by id)
    return pa.table({
        "snapshot_date": pa.array(snapshot_day, pa.date32()),
        "product_id": dictionary_column(pairs.product[pair_index], catalog.ids),
        "location_id": dictionary_column(pairs.location[pair_index], locations.ids),
        "on_hand": on_hand[day_index, pair_index],
        "reserved": reserved[day_index, pair_index],
        "snapshot_at": (snapshot_day.astype(np.int64) + 1) * DAY - 1,
        "_day": snapshot_day,
    })


def _shipments_table(rng: np.random.Generator, window: Window, sizes: Sizes, catalog: Catalog,
                     locations: Locations, pairs: _StockedPairs, drawn: dict) -> pa.Table:
    pair, quantity, announced, expected, arrival_day = (
        np.concatenate(drawn[k]) if drawn[k] else np.zeros(0, np.int64)
        for k in ("pair", "quantity", "announced", "expected", "arrival_day"))
    received = arrival_day < sizes.days
    received_at = window.start + arrival_day * DAY + rng.integers(6 * HOUR, 16 * HOUR, len(arrival_day))
    rank = np.lexsort((pair, announced))
    count = len(announced)
    return pa.table({
        "shipment_id": dictionary_column(numbered_in_order(rank), sequential_ids("SH", count, 8, start=10_000_001)),
        "product_id": dictionary_column(pairs.product[pair], catalog.ids),
        "location_id": dictionary_column(pairs.location[pair], locations.ids),
        "quantity": quantity.astype(np.int32),
        "announced_at": announced,
        "expected_at": expected,
        "received_at": nullable_column(received_at, ~received),
        "_day": day_of(announced),
    }).take(pa.array(rank))
