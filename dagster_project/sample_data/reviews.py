"""The PIM's product reviews: verified reviews of delivered lines (unhappier where the line came
back) and unverified ones anyone can write."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dagster_project.sample_data.catalog import Catalog
from dagster_project.sample_data.columns import dictionary_column, numbered_in_order, sequential_ids
from dagster_project.sample_data.orders import DELIVERED, Orders
from dagster_project.sample_data.people import People
from dagster_project.sample_data.window import DAY, Window, day_of

REVIEW_TEXT = {
    1: [("Broke after a week", "Stopped working after a few days. Very disappointed."),
        ("Do not buy", "Did not work properly out of the box, had to send it back.")],
    2: [("Not great", "Works, but the quality is not what I expected for the price."),
        ("Meh", "Connection drops regularly and the app is clumsy.")],
    3: [("Okay", "Does the job. Nothing special, nothing bad."),
        ("Average", "Decent for the price, setup took longer than expected.")],
    4: [("Very good", "Very good quality, fast delivery. One star off for the packaging."),
        ("Happy with it", "Works well, easy setup, would buy again.")],
    5: [("Excellent!", "Absolutely love it. Great quality and super fast delivery."),
        ("Top product", "Exactly as described, works perfectly. Highly recommended."),
        ("Perfect", "Best purchase this year, does everything I wanted.")],
}


def build_reviews(rng: np.random.Generator, window: Window, people: People, catalog: Catalog, orders: Orders,
                  returned_lines: np.ndarray) -> tuple[pa.Table, np.ndarray]:
    """pim/reviews, and the accounts that wrote one."""
    line_order = orders.line_order
    n_lines = len(line_order)
    returned = np.zeros(n_lines, bool)
    returned[returned_lines] = True
    reviewed = (orders.status[line_order] == DELIVERED) & (rng.random(n_lines) < 0.10)
    written_at = orders.ordered_at[line_order] + rng.integers(5 * DAY, 45 * DAY, n_lines)
    reviewed = np.flatnonzero(reviewed & (written_at < window.end))
    k = len(reviewed)
    happy = rng.choice(5, size=k, p=[0.04, 0.05, 0.11, 0.30, 0.50])
    unhappy = rng.choice(5, size=k, p=[0.3, 0.22, 0.2, 0.18, 0.1])
    rating = np.where(returned[reviewed], unhappy, happy) + 1
    unverified = max(3, k // 10)  # unverified reviews: anyone can write one
    unverified_product = rng.choice(catalog.count, size=unverified, p=catalog.sold_p)
    unverified_account = np.where(rng.random(unverified) < 0.5, rng.integers(0, len(people.account_ids), unverified), -1)
    unverified_at = window.random_times(rng, unverified, np.maximum(catalog.launched_at[unverified_product], window.start))
    unverified_rating = rng.choice(5, size=unverified, p=[0.15, 0.08, 0.1, 0.22, 0.45]) + 1
    product = np.concatenate([orders.line_product[reviewed], unverified_product])
    account = np.concatenate([orders.account[line_order[reviewed]], unverified_account])
    at = np.concatenate([written_at[reviewed], unverified_at])
    rating = np.concatenate([rating, unverified_rating])
    verified = np.concatenate([np.ones(k, bool), np.zeros(unverified, bool)])
    n = k + unverified
    first_text = np.cumsum([0] + [len(REVIEW_TEXT[r]) for r in range(1, 5)])
    texts_per_rating = np.array([len(REVIEW_TEXT[r]) for r in range(1, 6)])
    text = first_text[rating - 1] + (rng.random(n) * texts_per_rating[rating - 1]).astype(np.int64)
    titles = [title for r in range(1, 6) for title, _ in REVIEW_TEXT[r]]
    bodies = [body for r in range(1, 6) for _, body in REVIEW_TEXT[r]]
    stars_only = rng.random(n) < 0.2
    rank = np.lexsort((product, at))
    table = pa.table({
        "review_id": dictionary_column(numbered_in_order(rank), sequential_ids("RV", n, 7, start=1_000_001)),
        "product_id": dictionary_column(product, catalog.ids),
        "oms_customer_id": dictionary_column(account, people.account_ids),
        "rating": rating.astype(np.int32),
        "title": dictionary_column(np.where(stars_only, -1, text), titles),
        "body": dictionary_column(np.where(stars_only, -1, text), bodies),
        "is_verified_purchase": pa.array(verified),
        "submitted_at": at,
        "_day": day_of(at),
    }).take(pa.array(rank))
    return table, np.unique(account[account >= 0])
