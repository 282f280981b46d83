"""The OMS's orders (Orders): who buys what, when, through which channel, with which contact
details and amounts; the carts they came from (OrderCarts); the orders and order-lines tables."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from dagster_project.contracts import ORDER_CHANNELS
from dagster_project.sample_data.catalog import Catalog
from dagster_project.sample_data.devices import Devices
from dagster_project.sample_data.columns import dictionary_column, money_round, nullable_column, segments, sequential_ids
from dagster_project.sample_data.people import People, pick_email, pick_phone
from dagster_project.sample_data.profile import WorldProfile
from dagster_project.sample_data.scales import Sizes
from dagster_project.sample_data.window import DAY, HOUR, NEVER, Window, day_of

if TYPE_CHECKING:  # wms builds on the orders (demand); orders only read its locations
    from dagster_project.sample_data.wms import Locations

# Channel codes are indices into ORDER_CHANNELS.
WEB, APP, STORE, PHONE, CATALOG, MARKETPLACE = range(6)
ORDER_STATUSES = ["placed", "shipped", "delivered", "cancelled"]
PLACED, SHIPPED, DELIVERED, CANCELLED = range(4)


@dataclass(frozen=True)
class OrderCarts:
    """The web cart each order came from (-1: none) and the cart ids."""
    ids: pa.Array
    of_order: np.ndarray

    @classmethod
    def none(cls, n_orders: int) -> "OrderCarts":
        """A retailer without web analytics: no order names a cart."""
        return cls(pa.array([], pa.string()), np.full(n_orders, -1))


@dataclass(frozen=True)
class Orders:
    # per order, in time order (which is also id order)
    person: np.ndarray
    ordered_at: np.ndarray
    channel: np.ndarray  # index into ORDER_CHANNELS
    store: np.ndarray  # location of a store sale or click-and-collect pick-up; -1 otherwise
    account: np.ndarray  # index into people.account_ids; -1: a guest
    email: np.ndarray  # index into people.email_variants; -1: none given
    phone: np.ndarray  # index into people.phone_variants; -1: none given
    status: np.ndarray  # index into ORDER_STATUSES
    delivered_at: np.ndarray  # NEVER unless the retailer records deliveries
    subtotal: np.ndarray
    discount: np.ndarray
    shipping: np.ndarray
    tax: np.ndarray
    total: np.ndarray
    line_count: np.ndarray
    first_line: np.ndarray
    ids: pa.Array
    # per line
    line_order: np.ndarray
    line_position: np.ndarray
    line_product: np.ndarray
    line_quantity: np.ndarray
    line_unit_price: np.ndarray
    line_discount: np.ndarray
    line_ids: pa.Array
    carts: OrderCarts

    @property
    def count(self) -> int:
        return len(self.ordered_at)


def attach_carts(orders: Orders, carts: OrderCarts) -> Orders:
    """Orders remember the web cart they came from (the web sessions decide which that is)."""
    return replace(orders, carts=carts)


def build_orders(rng: np.random.Generator, window: Window, sizes: Sizes, profile: WorldProfile, people: People,
                 devices: Devices, catalog: Catalog, locations: Locations) -> Orders:
    rate = people.order_activity * sizes.orders_per_person_year * sizes.days / 365
    person = np.repeat(np.arange(people.count), rng.poisson(rate))
    ordered_at = window.random_times(rng, len(person))
    by_time = np.lexsort((person, ordered_at))
    person, ordered_at = person[by_time], ordered_at[by_time]
    contacts = _channels_and_contacts(rng, sizes, people, devices, locations, profile, person, ordered_at)
    channel, store = contacts.pop("channel"), contacts.pop("store")
    line_count, project = _line_counts(rng, profile, channel)
    lines = _lines(rng, sizes, profile, catalog, locations, channel, store, ordered_at, line_count, project)
    amounts = _amounts(rng, profile, people, catalog, locations, person, channel, store, lines)
    status, delivered_at = _status(rng, window, profile, channel, ordered_at, amounts["shipping"])
    if profile.anonymous_store_p or set(profile.channel_codes) - {WEB, APP, STORE}:
        contacts = _multichannel_contacts(rng, profile, person, channel, contacts)
    ids = sequential_ids(profile.order_id_prefix, len(person), profile.order_id_width, start=profile.order_id_start)
    order_of_line = np.array(ids.to_pylist(), dtype=object)[lines["line_order"]]
    line_ids = pa.array([f"{i}-{j}" for i, j in zip(order_of_line, lines["line_position"] + 1)], pa.string())
    return Orders(
        person=person, ordered_at=ordered_at, channel=channel, store=store, **contacts, status=status,
        delivered_at=delivered_at, **amounts, line_count=line_count, first_line=np.cumsum(line_count) - line_count,
        ids=ids, **lines, line_ids=line_ids, carts=OrderCarts.none(len(person)),
    )


def _channels_and_contacts(rng: np.random.Generator, sizes: Sizes, people: People, devices: Devices,
                           locations: Locations, profile: WorldProfile, person: np.ndarray,
                           ordered_at: np.ndarray) -> dict:
    """Channel, store and what the buyer gives: account, e-mail (as typed), phone."""
    m = len(person)
    registered = people.registered_at[person] <= ordered_at
    channel = np.array(profile.channel_codes)[np.searchsorted(profile.channel_bounds, rng.random(m), side="right")]
    # the app needs an account and the app installed; else the order goes through the website
    app_possible = registered & (devices.app_of_person[person] >= 0)
    channel = np.where((channel == APP) & ~app_possible, WEB, channel)
    store = np.where(channel == STORE, sizes.warehouses + rng.integers(0, sizes.stores, m), -1)
    click_and_collect = (channel == WEB) & (rng.random(m) < 0.1)
    pick_up = locations.click_and_collect_stores[rng.integers(0, len(locations.click_and_collect_stores), m)]
    store = np.where(click_and_collect, pick_up, store)
    account = np.where(registered & ((channel < STORE) | (rng.random(m) < 0.6)), people.account_of[person], -1)
    email = pick_email(rng, person)
    # Store staff type placeholder e-mails for some walk-in guests; a few web guests do too.
    placeholder = (account < 0) & (((channel == STORE) & (rng.random(m) < 0.08)) | (rng.random(m) < 0.004))
    email = np.where(placeholder,
                     people.first_placeholder_email + rng.integers(0, len(profile.junk_emails), m), email)
    phone = np.where(people.has_phone[person] & (rng.random(m) < 0.6), pick_phone(rng, person), -1)
    return dict(channel=channel, store=store, account=account, email=email, phone=phone)


def _line_counts(rng: np.random.Generator, profile: WorldProfile, channel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lines per order; a project (a kitchen) puts several large appliances on one order."""
    m = len(channel)
    line_count = rng.choice([1, 2, 3, 4], size=m, p=[0.55, 0.25, 0.13, 0.07])
    project = np.zeros(m, bool)
    if profile.project_order_p:
        project = (channel != STORE) & (rng.random(m) < profile.project_order_p)
        line_count = np.where(project, rng.integers(profile.project_lines[0], profile.project_lines[1] + 1, m),
                              line_count)
    return line_count, project


def _lines(rng: np.random.Generator, sizes: Sizes, profile: WorldProfile, catalog: Catalog, locations: Locations,
           channel: np.ndarray, store: np.ndarray, ordered_at: np.ndarray, line_count: np.ndarray,
           project: np.ndarray) -> dict:
    """Products, quantities, unit prices and line discounts."""
    line_order, line_position = segments(line_count)
    n_lines = len(line_order)
    line_time = ordered_at[line_order]
    product = rng.choice(catalog.count, size=n_lines, p=catalog.sold_p)
    not_on_sale = ~catalog.sellable(product, line_time)
    product[not_on_sale] = rng.choice(catalog.evergreen, size=int(not_on_sale.sum()), p=catalog.evergreen_p)
    in_store = channel[line_order] == STORE
    store_index = store[line_order][in_store] - sizes.warehouses
    product[in_store] = locations.assortment[store_index, rng.integers(0, locations.assortment.shape[1],
                                                                      int(in_store.sum()))]
    if profile.project_order_p:
        product = _project_products(rng, catalog, project[line_order], product)
    draw = rng.random(n_lines)
    accessory = catalog.is_accessory[product]
    quantity = np.where(draw < np.where(accessory, 0.7, 0.9), 1,
                        np.where(draw < np.where(accessory, 0.92, 0.98), 2, 3))
    quantity = np.where(project[line_order], 1, quantity)
    unit_price = catalog.price_at(product, line_time)
    discount = np.where(rng.random(n_lines) < 0.08,
                        money_round(quantity * unit_price * rng.uniform(0.05, 0.2, n_lines)), 0)
    return dict(line_order=line_order, line_position=line_position, line_product=product,
                line_quantity=quantity, line_unit_price=unit_price, line_discount=discount)


def _project_products(rng: np.random.Generator, catalog: Catalog, in_project: np.ndarray,
                      product: np.ndarray) -> np.ndarray:
    """A project order takes the better models (top 40% by price) of the project categories."""
    pool = catalog.evergreen[catalog.is_project_item[catalog.evergreen]]
    pool = pool[catalog.first_price[pool] >= np.quantile(catalog.first_price[pool], 0.6)]
    product[in_project] = rng.choice(pool, size=int(in_project.sum()))
    return product


def _amounts(rng: np.random.Generator, profile: WorldProfile, people: People, catalog: Catalog,
             locations: Locations, person: np.ndarray, channel: np.ndarray, store: np.ndarray,
             lines: dict) -> dict:
    """Subtotal, order discount, shipping, tax and total, in cents."""
    m = len(person)
    line_order, quantity = lines["line_order"], lines["line_quantity"]
    subtotal = np.bincount(line_order, weights=quantity * lines["line_unit_price"] - lines["line_discount"],
                           minlength=m).astype(np.int64)
    draw = rng.random(m)
    discount = np.where(draw < 0.03, money_round(subtotal * 0.1),
                        np.where(draw < 0.06, np.minimum(rng.choice([500, 1000], m), subtotal), 0))
    ships = (channel != STORE) & (store < 0)
    parcel = np.where(ships & (subtotal - discount < profile.free_shipping_from), profile.flat_shipping, 0)
    if profile.prices_include_tax:
        shipping = parcel
        total = subtotal - discount + shipping
        vat = profile.vat_percent  # VAT included in the total, rounded to the cent
        tax = (total * vat + (100 + vat) // 2) // (100 + vat)
    else:
        # freight per unit for furniture and large appliances, the parcel rate for the rest;
        # sales tax of the delivery address (or the store) added on top
        freight = np.bincount(line_order, weights=quantity * catalog.delivery_fee[lines["line_product"]],
                              minlength=m).astype(np.int64)
        shipping = np.where(ships, np.where(freight > 0, freight, parcel), 0)
        rate = np.where(store >= 0, locations.sales_tax[np.maximum(store, 0)], people.sales_tax[person])
        tax = money_round((subtotal - discount + shipping) * rate)
        total = subtotal - discount + shipping + tax
    return dict(subtotal=subtotal, discount=discount, shipping=shipping, tax=tax, total=total)


def _status(rng: np.random.Generator, window: Window, profile: WorldProfile, channel: np.ndarray,
            ordered_at: np.ndarray, shipping: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Status at the end of the window and, where the retailer records it, the delivery time."""
    m = len(channel)
    age = window.end - ordered_at
    draw = rng.random(m)
    status = np.where(age < DAY, np.where(draw < 0.8, PLACED, SHIPPED),
                      np.where(age < 4 * DAY, np.where(draw < 0.15, PLACED, np.where(draw < 0.85, SHIPPED, DELIVERED)),
                               DELIVERED))
    status = np.where(channel == STORE, DELIVERED, status)
    status = np.where((channel != STORE) & (rng.random(m) < 0.03), CANCELLED, status)
    delivered_at = np.full(m, NEVER)
    if profile.records_delivered_at:
        # Freight takes longer than parcels; a store sale is carried out at the till.
        low, high = profile.delivery_days
        lead = rng.integers(low * DAY, high * DAY, m) + np.where(shipping > profile.flat_shipping,
                                                                 rng.integers(0, 10 * DAY, m), 0)
        delivered = np.where(channel == STORE, ordered_at, ordered_at + lead)
        shipped = ordered_at + rng.integers(6 * HOUR, 3 * DAY, m)
        status = np.where(status == CANCELLED, CANCELLED,
                          np.where(delivered < window.end, DELIVERED, np.where(shipped < window.end, SHIPPED, PLACED)))
        delivered_at = np.where(status == DELIVERED, delivered, NEVER)
    return status, delivered_at


def _multichannel_contacts(rng: np.random.Generator, profile: WorldProfile, person: np.ndarray,
                           channel: np.ndarray, contacts: dict) -> dict:
    """Walk-in store sales often leave no trace of the buyer; a call centre takes a phone number
    and not always an e-mail; a marketplace keeps the buyer's e-mail and account."""
    m = len(person)
    anonymous = (channel == STORE) & (rng.random(m) < profile.anonymous_store_p)
    account, email, phone = (np.where(anonymous, -1, contacts[k]) for k in ("account", "email", "phone"))
    by_phone = channel == PHONE
    email = np.where(by_phone & (rng.random(m) >= profile.phone_order_email_p), -1, email)
    phone = np.where(by_phone, pick_phone(rng, person), phone)
    marketplace = channel == MARKETPLACE
    account, email = np.where(marketplace, -1, account), np.where(marketplace, -1, email)
    phone = np.where(marketplace & (rng.random(m) >= profile.marketplace_phone_p), -1, phone)
    return dict(account=account, email=email, phone=phone)


def orders_table(orders: Orders, people: People, locations: Locations, profile: WorldProfile) -> pa.Table:
    """oms/orders, numbered in time order already."""
    person = orders.person
    ships = (orders.channel != STORE) & (orders.store < 0)
    shipped_to = np.where(ships, person, -1)
    # pick-up and store orders: the store's country (the first)
    country = np.where(ships, people.country[person], 0)
    table = pa.table({
        "order_id": orders.ids,
        "oms_customer_id": dictionary_column(orders.account, people.account_ids),
        "email": dictionary_column(orders.email, people.email_variants),
        "phone": dictionary_column(orders.phone, people.phone_variants),
        "channel": dictionary_column(orders.channel, ORDER_CHANNELS),
        "store_location_id": dictionary_column(orders.store, locations.ids),
        "cart_id": dictionary_column(orders.carts.of_order, orders.carts.ids),
        "ordered_at": orders.ordered_at,
        "status": dictionary_column(orders.status, ORDER_STATUSES),
        "currency": dictionary_column(np.zeros(orders.count, int), [profile.currency]),
        "subtotal_amount": orders.subtotal,
        "discount_amount": orders.discount,
        "shipping_amount": orders.shipping,
        "tax_amount": orders.tax,
        "total_amount": orders.total,
        "shipping_address": dictionary_column(shipped_to, people.streets),
        "shipping_postcode": dictionary_column(shipped_to, people.postcodes),
        "shipping_city": dictionary_column(shipped_to, people.cities),
        "shipping_country": dictionary_column(country, list(profile.countries)),
        "_day": day_of(orders.ordered_at),
    })
    if profile.records_delivered_at:
        table = table.append_column("delivered_at", nullable_column(orders.delivered_at, orders.delivered_at == NEVER))
    if people.regions is not None:
        table = table.append_column("shipping_region", dictionary_column(shipped_to, people.regions))
    return table


def order_lines_table(orders: Orders, catalog: Catalog) -> pa.Table:
    return pa.table({
        "order_line_id": orders.line_ids,
        "order_id": dictionary_column(orders.line_order, orders.ids),
        "line_number": (orders.line_position + 1).astype(np.int32),
        "product_id": dictionary_column(orders.line_product, catalog.ids),
        "quantity": orders.line_quantity.astype(np.int32),
        "unit_price": orders.line_unit_price,
        "discount_amount": orders.line_discount,
        "_day": day_of(orders.ordered_at[orders.line_order]),
    })
