"""The OMS's returns: which delivered lines come back, why, in what condition and for what refund;
for some retailers also returns of orders older than the first orders file and returns brought
back by someone else (a gift)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dagster_project.contracts import CONTRACTS_BY_NAME
from dagster_project.sample_data.catalog import Catalog
from dagster_project.sample_data.columns import (dictionary_column, money_round, nullable_column, numbered_in_order,
                                                 sequential_ids)
from dagster_project.sample_data.orders import DELIVERED, STORE, Orders
from dagster_project.sample_data.people import People
from dagster_project.sample_data.profile import WorldProfile
from dagster_project.sample_data.window import DAY, Window, day_of

RETURN_REASONS = CONTRACTS_BY_NAME["oms__returns"].column("reason").accepted_values
DEFECT_PRONE_P = np.array([0.35, 0.15, 0.25, 0.08, 0.07, 0.10])
DEFAULT_REASON_P = np.array([0.14, 0.15, 0.40, 0.07, 0.09, 0.15])
CONDITIONS = ["unopened", "opened", "damaged"]


@dataclass(frozen=True)
class Returns:
    table: pa.Table  # oms/returns
    returned_lines: np.ndarray  # order lines that came back (the reviews read them)
    accounts_seen: np.ndarray  # accounts of gift recipients who brought something back


@dataclass(frozen=True)
class _ReasonWording:
    """The OMS's own reason texts, each mapped to the closest reason code (or `other`)."""
    texts: list[str]
    codes: np.ndarray
    weights: np.ndarray

    @classmethod
    def of(cls, profile: WorldProfile) -> "_ReasonWording":
        table = profile.return_reason_texts
        return cls([text for _, text, _ in table], np.array([RETURN_REASONS.index(code) for code, _, _ in table]),
                   np.array([weight for *_, weight in table], dtype=float))

    def draw(self, rng: np.random.Generator, k: int) -> np.ndarray:
        return rng.choice(len(self.texts), size=k, p=self.weights / self.weights.sum())


def build_returns(rng: np.random.Generator, window: Window, profile: WorldProfile, people: People,
                  catalog: Catalog, orders: Orders) -> Returns:
    returned, columns, text = _line_returns(rng, window, profile, catalog, orders)
    k = len(returned)
    key = returned
    wording = _ReasonWording.of(profile) if profile.return_reason_texts else None
    if wording is not None:
        columns["reason_text"] = dictionary_column(text, wording.texts)
    accounts_seen = np.zeros(0, dtype=np.int64)
    if profile.returned_by_other_p:
        account = _gift_recipients(rng, profile, people, orders, returned)
        accounts_seen = np.unique(account[account >= 0])
        columns["returned_by_oms_customer_id"] = dictionary_column(account, people.account_ids)
    if profile.old_order_returns_share:
        old = _old_order_returns(rng, window, profile, people, catalog, orders, k, wording)
        columns, key = _append_old_returns(columns, key, old)
    requested = columns["requested_at"]
    rank = np.lexsort((key, requested))
    ids = sequential_ids("RET", len(requested), 7, start=100_001)
    table = pa.table({"return_id": dictionary_column(numbered_in_order(rank), ids), **columns})
    return Returns(table.take(pa.array(rank)), returned, accounts_seen)


def _line_returns(rng: np.random.Generator, window: Window, profile: WorldProfile, catalog: Catalog,
                  orders: Orders) -> tuple[np.ndarray, dict, np.ndarray]:
    """Delivered lines come back now and then (defect-prone products more often; store sales less)."""
    line_order = orders.line_order
    n_lines = len(line_order)
    delivered = orders.status[line_order] == DELIVERED
    rate = np.where(catalog.defect_prone[orders.line_product], 0.11, 0.07)
    comes_back = delivered & (orders.channel[line_order] != STORE) | (delivered & (rng.random(n_lines) < 0.3))
    comes_back = comes_back & (rng.random(n_lines) < rate)
    requested = orders.ordered_at[line_order] + rng.integers(2 * DAY, 30 * DAY, n_lines)
    returned = np.flatnonzero(comes_back & (requested < window.end))
    requested = requested[returned]
    k = len(returned)
    product = orders.line_product[returned]
    prone = catalog.defect_prone[product]
    reason = np.where(prone, rng.choice(6, size=k, p=DEFECT_PRONE_P), rng.choice(6, size=k, p=DEFAULT_REASON_P))
    text = np.full(k, -1)
    if profile.return_reason_texts:
        wording = _ReasonWording.of(profile)
        text = wording.draw(rng, k)
        reason = wording.codes[text]
    received_at = requested + rng.integers(2 * DAY, 7 * DAY, k)
    received = received_at < window.end
    condition = np.where(reason == 0, rng.choice([1, 2], size=k, p=[0.7, 0.3]),
                         rng.choice(3, size=k, p=[0.5, 0.42, 0.08]))  # unopened opened damaged
    line_quantity = orders.line_quantity[returned]
    quantity = 1 + (rng.random(k) * line_quantity).astype(np.int64)
    line_amount = orders.line_unit_price[returned] * line_quantity - orders.line_discount[returned]
    refund = money_round(line_amount * quantity / line_quantity)
    refund = np.where((condition == 2) & ~np.isin(reason, [0, 3]), money_round(refund * 0.5), refund)
    refunded = received & (received_at + rng.integers(DAY // 2, 3 * DAY, k) < window.end)
    columns = {
        "order_id": dictionary_column(line_order[returned], orders.ids),
        "order_line_id": dictionary_column(returned, orders.line_ids),
        "product_id": dictionary_column(product, catalog.ids),
        "quantity": quantity.astype(np.int32),
        "reason": dictionary_column(reason, list(RETURN_REASONS)),
        "condition": dictionary_column(np.where(received, condition, -1), CONDITIONS),
        "refund_amount": nullable_column(refund, ~refunded),
        "requested_at": requested,
        "received_at": nullable_column(received_at, ~received),
        "_day": day_of(requested),
    }
    return returned, columns, text


def _gift_recipients(rng: np.random.Generator, profile: WorldProfile, people: People, orders: Orders,
                     returned: np.ndarray) -> np.ndarray:
    """A gift: the recipient (someone else's account) brings it back. -1: the buyer does."""
    k = len(returned)
    by_other = rng.random(k) < profile.returned_by_other_p
    n_accounts = len(people.account_ids)
    account = rng.integers(0, n_accounts, k)
    buyer = orders.person[orders.line_order[returned]]
    account = np.where(people.account_person[account] == buyer, (account + 1) % n_accounts, account)
    return np.where(by_other, account, -1)


def _old_order_returns(rng: np.random.Generator, window: Window, profile: WorldProfile, people: People,
                       catalog: Catalog, orders: Orders, k: int, wording: _ReasonWording | None) -> dict:
    """Returns of orders placed before the first orders file: their orders and lines are in no
    file (an OMS export starts at a date; the returns desk does not)."""
    count = max(1, int(round(k * profile.old_order_returns_share)))
    # order numbers a few weeks' worth of orders below the first one of the files
    number = profile.order_id_start - 1 - np.sort(rng.choice(max(20 * orders.count, count), size=count, replace=False))
    line_number = 1 + rng.integers(0, 3, count)
    product = rng.choice(catalog.evergreen, size=count, p=catalog.evergreen_p)
    requested = window.random_times(rng, count, window.start, window.start + 30 * DAY)
    received = requested + rng.integers(2 * DAY, 7 * DAY, count)
    refunded = received + rng.integers(DAY // 2, 3 * DAY, count) < window.end
    text = wording.draw(rng, count) if wording is not None else np.full(count, -1)
    reason = wording.codes[text] if wording is not None else rng.choice(6, size=count, p=DEFAULT_REASON_P)
    condition = rng.choice(3, size=count, p=[0.5, 0.42, 0.08])
    order_ids = [f"{profile.order_id_prefix}{int(o):0{profile.order_id_width}d}" for o in number]
    return {
        "order_id": pa.array(order_ids, pa.string()),
        "order_line_id": pa.array([f"{o}-{n}" for o, n in zip(order_ids, line_number)], pa.string()),
        "product_id": dictionary_column(product, catalog.ids),
        "quantity": np.ones(count, dtype=np.int32),
        "reason": dictionary_column(reason, list(RETURN_REASONS)),
        "condition": dictionary_column(condition, CONDITIONS),
        "refund_amount": nullable_column(catalog.first_price[product], ~refunded),
        "requested_at": requested,
        "received_at": received,
        "_day": day_of(requested),
        "reason_text": dictionary_column(text, wording.texts) if wording is not None else None,
        "returned_by_oms_customer_id": dictionary_column(np.full(count, -1), people.account_ids),
    }


def _append_old_returns(columns: dict, key: np.ndarray, old: dict) -> tuple[dict, np.ndarray]:
    """The old orders' returns after the others, as plain strings where either side is dictionary-encoded."""
    merged = {}
    for name, values in columns.items():
        current, older = pa.array(values), pa.array(old[name])
        if pa.types.is_dictionary(current.type) or pa.types.is_dictionary(older.type):
            current, older = current.cast(pa.string()), older.cast(pa.string())
        merged[name] = pa.concat_arrays([current, older.cast(current.type)])
    merged["requested_at"] = np.concatenate([columns["requested_at"], old["requested_at"]])
    merged["_day"] = np.concatenate([columns["_day"], old["_day"]])
    # old lines sort before every line of the files at the same time
    return merged, np.concatenate([key, -1 - np.arange(len(old["requested_at"]))])
