"""How big a generated world is (Sizes) for a named scale or a factor of the small one (SCALES)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Sizes:
    people: int
    days: int
    products: int
    warehouses: int
    stores: int
    kiosks: int
    # Orders and non-buying web sessions per person and year, before per-person activity.
    orders_per_person_year: float = 9.0
    browse_sessions_per_person_year: float = 7.0
    # Share of the catalog a store carries (warehouse 1 carries everything, the others half).
    store_assortment: float = 0.4


SCALES: dict[str, Sizes] = {
    "small": Sizes(people=2_000, days=120, products=250, warehouses=2, stores=6, kiosks=4),
    "standard": Sizes(people=100_000, days=365, products=20_000, warehouses=3, stores=17, kiosks=12,
                      store_assortment=0.04),
}


def resolve_scale(scale: str | float) -> Sizes:
    if isinstance(scale, str):
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {sorted(SCALES)} or a number, not {scale!r}")
        return SCALES[scale]
    factor = float(scale)
    if factor <= 0:
        raise ValueError("scale must be positive")
    small = SCALES["small"]
    # The catalog grows more slowly than the population below 1 so that tiny test worlds still
    # have every category; the locations stay those of the small shop.
    return replace(small, people=max(50, round(small.people * factor)),
                   products=max(60, round(small.products * factor)))
