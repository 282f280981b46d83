"""The product catalogue (Catalog): products, their prices over the window, launches and
discontinuations, popularity and search terms; and the PIM's products table."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dagster_project.sample_data.columns import dictionary_column, last_version_per_day, money_round, nullable_column
from dagster_project.sample_data.profile import WorldProfile
from dagster_project.sample_data.scales import Sizes
from dagster_project.sample_data.window import DAY, HOUR, NEVER, Window, day_of


@dataclass(frozen=True)
class Catalog:
    category: np.ndarray  # index into profile.categories; products are sorted by category
    ids: pa.Array
    names: list[str]
    brands: pa.Array
    descriptions: pa.Array
    specs: pa.Array  # JSON text
    paths: pa.Array  # category path
    slugs: list[str]
    first_price: np.ndarray  # cents
    cost: np.ndarray
    cost_missing: np.ndarray
    popularity: np.ndarray
    launched_at: np.ndarray
    inactive_before_window: np.ndarray
    deactivated_at: np.ndarray  # NEVER: stays on sale
    price_changed_at: np.ndarray  # NEVER: no change in the window
    changed_price: np.ndarray
    evergreen: np.ndarray  # products on sale for the whole window
    evergreen_p: np.ndarray  # their popularity as probabilities
    sold_p: np.ndarray  # popularity of every product not discontinued before the window
    search_terms: list[str]
    category_first_term: np.ndarray  # category -> its first search term
    category_term_count: np.ndarray
    defect_prone: np.ndarray
    is_accessory: np.ndarray
    delivery_fee: np.ndarray  # per unit (freight), cents; 0: goes as a parcel
    is_project_item: np.ndarray  # can be part of a project order (a kitchen)

    @property
    def count(self) -> int:
        return len(self.category)

    def price_at(self, product: np.ndarray, times: np.ndarray) -> np.ndarray:
        return np.where(times >= self.price_changed_at[product], self.changed_price[product], self.first_price[product])

    def sellable(self, product: np.ndarray, times: np.ndarray) -> np.ndarray:
        return ((self.launched_at[product] <= times) & ~self.inactive_before_window[product]
                & (self.deactivated_at[product] > times))


def build_catalog(rng: np.random.Generator, window: Window, sizes: Sizes, profile: WorldProfile) -> Catalog:
    categories = profile.categories
    category = _product_categories(rng, sizes.products, categories)
    described = _describe_products(rng, category, categories)
    first_price = described.pop("first_price")
    n = len(category)
    cost = money_round(first_price * (0.6 + 0.2 * rng.random(n)))
    cost_missing = rng.random(n) < 0.03
    # Popularity: Zipf-like within a category, scaled by the category's weight.
    category_weight = np.array([c[2] for c in categories])[category]
    # Cheaper products sell more often (a cable per TV, not a TV per cable).
    popularity = category_weight / (1 + rng.permutation(n)) ** 0.9 * (first_price / 10_000) ** -0.5
    life = _life_cycle(rng, window, first_price)
    on_sale_all_window = ((life["launched_at"] < window.start) & ~life["inactive_before_window"]
                          & (life["deactivated_at"] == NEVER))
    evergreen = np.flatnonzero(on_sale_all_window)
    sold = popularity * ~life["inactive_before_window"]
    terms, first_term, term_count = [], [], []
    for c in categories:
        first_term.append(len(terms))
        term_count.append(len(c[7]))
        terms += c[7]

    def categories_named(names) -> list[int]:
        return [i for i, c in enumerate(categories) if c[0] in names]

    return Catalog(
        category=category, **described, first_price=first_price, cost=cost, cost_missing=cost_missing,
        popularity=popularity, **life, evergreen=evergreen,
        evergreen_p=popularity[evergreen] / popularity[evergreen].sum(), sold_p=sold / sold.sum(),
        search_terms=terms, category_first_term=np.array(first_term), category_term_count=np.array(term_count),
        defect_prone=np.array([c[8] for c in categories])[category],
        is_accessory=np.isin(category, categories_named(profile.accessory_categories)),
        delivery_fee=np.array([c[9] if len(c) > 9 else 0 for c in categories])[category],
        is_project_item=np.isin(category, categories_named(profile.project_categories)),
    )


def _product_categories(rng: np.random.Generator, n: int, categories: list) -> np.ndarray:
    """Every category gets at least one product, the rest follows the catalog shares."""
    shares = np.array([c[1] for c in categories])
    category = np.concatenate([np.arange(len(categories)),
                               rng.choice(len(categories), size=n - len(categories), p=shares / shares.sum())])
    return np.sort(category, kind="stable")


def _describe_products(rng: np.random.Generator, category: np.ndarray, categories: list) -> dict:
    """Ids, names, brands, specs, descriptions and list prices (per product: string building)."""
    n = len(category)
    draws = rng.random((n, 12))
    sku = np.sort(rng.choice(900_000, size=n, replace=False) + 100_000)
    ids, names, brands, descriptions, specs_json, prices, paths, slugs = [], [], [], [], [], [], [], []
    for i in range(n):
        path, _, _, (low, high), brand_list, noun, spec_options, *_ = categories[category[i]]
        brand = brand_list[int(draws[i, 0] ** 1.3 * len(brand_list))]
        specs = {key: options[int(draws[i, 2 + k] * len(options))]
                 for k, (key, options) in enumerate(spec_options.items())}
        # Price grows with the spec option index (bigger screen, more storage ...).
        level = np.mean([draws[i, 2 + k] for k in range(len(spec_options))])
        raw = low * (high / low) ** (0.7 * level + 0.3 * draws[i, 1])
        # shop prices: 1299.00-style above 100, 49.99-style below
        cents = int(round(raw / 10)) * 1000 - 1 if raw >= 100 else int(raw) * 100 + 99
        model = f"{'ABCDEFGHKLMPQRSTUVXZ'[int(draws[i, 9] * 20)]}{int(draws[i, 10] * 900) + 100}"
        name = f"{brand} {model} " + noun.format(**specs)
        ids.append(f"SKU-{sku[i]}")
        names.append(name)
        brands.append(brand)
        prices.append(cents)
        paths.append(path)
        slugs.append(name.lower().replace('"', "").replace(" ", "-").replace(".", "-") + f"-{sku[i]}")
        spec_text = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in list(specs.items())[:3])
        descriptions.append(f"The {name} by {brand} ({path.split(' > ')[-1]}) with {spec_text}.")
        specs_json.append(json.dumps(specs, sort_keys=True, separators=(",", ":")))
    return dict(ids=pa.array(ids, pa.string()), names=names, brands=pa.array(brands, pa.string()),
                descriptions=pa.array(descriptions, pa.string()), specs=pa.array(specs_json, pa.string()),
                paths=pa.array(paths, pa.string()), slugs=slugs, first_price=np.array(prices, dtype=np.int64))


def _life_cycle(rng: np.random.Generator, window: Window, first_price: np.ndarray) -> dict:
    """Launches, discontinuations and the one price change some products get in the window."""
    n = len(first_price)
    # Launches: most products are on sale before the window, some launch during it.
    new = rng.random(n) < 0.12
    launched = np.where(new, window.random_times(rng, n, window.start + 7 * DAY, window.end - 7 * DAY),
                        window.start - rng.integers(30 * DAY, 3 * 365 * DAY, n))
    launched = (launched // DAY) * DAY + 6 * HOUR  # on sale from 06:00 UTC of the launch day
    inactive = ~new & (rng.random(n) < 0.02)  # discontinued before the window
    deactivated = np.where(~new & ~inactive & (rng.random(n) < 0.02),
                           window.random_times(rng, n, window.start + 10 * DAY), NEVER)
    # One price change in the window for some products, mostly reductions.
    change = ~inactive & (rng.random(n) < 0.12)
    changed_at = np.where(change, window.random_times(rng, n, np.maximum(launched + DAY, window.start + DAY)), NEVER)
    changed_at = np.where(changed_at < window.end, changed_at, NEVER)
    factor = rng.choice([0.8, 0.85, 0.9, 0.95, 1.05, 1.1], size=n, p=[0.2, 0.25, 0.25, 0.15, 0.1, 0.05])
    changed_price = np.maximum(money_round(first_price * factor / 100) * 100 - 1, 99)
    return dict(launched_at=launched, inactive_before_window=inactive, deactivated_at=deactivated,
                price_changed_at=changed_at, changed_price=changed_price)


def products_table(catalog: Catalog, window: Window, profile: WorldProfile) -> pa.Table:
    """pim/products: the full catalogue on the first day (new products a week before launch),
    then a version per price change and discontinuation."""
    first_listed = np.maximum(catalog.launched_at - 7 * DAY, window.start + HOUR)
    changed = np.flatnonzero(catalog.price_changed_at < NEVER)
    discontinued = np.flatnonzero(catalog.deactivated_at < window.end)
    product = np.concatenate([np.arange(catalog.count), changed, discontinued])
    times = np.concatenate([first_listed, catalog.price_changed_at[changed], catalog.deactivated_at[discontinued]])
    by_product = np.lexsort((times, product))
    product, times = product[by_product], times[by_product]
    last_of_day = last_version_per_day(product, times)
    product, times = product[last_of_day], times[last_of_day]
    active = ~catalog.inactive_before_window[product] & (catalog.deactivated_at[product] > times)
    order = np.lexsort((product, times))
    return pa.table({
        "product_id": dictionary_column(product, catalog.ids),
        "name": dictionary_column(product, catalog.names),
        "brand": dictionary_column(product, catalog.brands),
        "category_path": dictionary_column(product, catalog.paths),
        "price": catalog.price_at(product, times),
        "cost": nullable_column(catalog.cost[product], catalog.cost_missing[product]),
        "currency": dictionary_column(np.zeros(len(product), int), [profile.currency]),
        "description": dictionary_column(product, catalog.descriptions),
        "specs": dictionary_column(product, catalog.specs),
        "is_active": pa.array(active),
        "launched_at": catalog.launched_at[product],
        "updated_at": times,
        "_day": day_of(times),
    }).take(pa.array(order))
