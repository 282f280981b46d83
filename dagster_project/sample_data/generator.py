"""Seeded synthetic landing files for a generated retailer (`generate`): the demo shop by default
(voltmarkt.py), or another WorldProfile (us_multichannel.py). This module owns the order of the
steps; each domain module owns one part of the simulated world. Design: docs/adr/sample-world-design.md."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dagster_project.contracts import CONTRACTS_BY_NAME, SYSTEMS
from dagster_project.sample_data.catalog import build_catalog, products_table
from dagster_project.sample_data.crm import build_crm_customers, build_tickets
from dagster_project.sample_data.devices import build_devices
from dagster_project.sample_data.ground_truth import IdentifiersSeen, identities_table
from dagster_project.sample_data.newsletter import build_consents_and_email
from dagster_project.sample_data.orders import attach_carts, build_orders, order_lines_table, orders_table
from dagster_project.sample_data.people import build_people
from dagster_project.sample_data.profile import WorldProfile
from dagster_project.sample_data.returns import build_returns
from dagster_project.sample_data.reviews import build_reviews
from dagster_project.sample_data.scales import SCALES, Sizes, resolve_scale
from dagster_project.sample_data.voltmarkt import VOLTMARKT
from dagster_project.sample_data.web import build_web
from dagster_project.sample_data.window import Window
from dagster_project.sample_data.wms import build_inventory, build_locations, locations_table
from dagster_project.sample_data.writer import LandingWriter

__all__ = ["SCALES", "Sizes", "generate", "resolve_scale", "resolve_world"]


def _profiles() -> dict[str, WorldProfile]:
    from dagster_project.sample_data.us_multichannel import US_MULTICHANNEL

    return {"default": VOLTMARKT, US_MULTICHANNEL.name: US_MULTICHANNEL}


def resolve_world(world: str | WorldProfile) -> WorldProfile:
    if isinstance(world, WorldProfile):
        return world
    profiles = _profiles()
    if world not in profiles:
        raise ValueError(f"unknown sample world {world!r}; known: {', '.join(sorted(profiles))}")
    return profiles[world]


def generate(landing_dir: Path, *, scale: str | float = "small", seed: int = 42, end_date: date = date(2026, 10, 31),
             ground_truth_dir: Path | None = None, world: str | WorldProfile = "default",
             days: int | None = None) -> dict:
    """Write landing files for the source entities a world's retailer has (all 13 for the
    default shop) and the identity ground truth.

    Returns {entity name: rows written, ..., "seconds": run time}. Previous files of the five
    systems under `landing_dir` (and the previous ground truth) are removed first, so a re-run
    with the same arguments reproduces the tree byte for byte. A source the retailer does not
    have (web analytics, reviews) gets an empty folder. `days` sets the history (ending on
    `end_date`) instead of the scale's own.
    """
    started = time.perf_counter()
    sizes = resolve_scale(scale)
    if days is not None:
        if days < 1:
            raise ValueError("days must be at least 1")
        sizes = replace(sizes, days=days)
    profile = resolve_world(world)
    if profile.orders_per_person_year is not None:
        sizes = replace(sizes, orders_per_person_year=profile.orders_per_person_year)
    landing_dir = Path(landing_dir)
    truth_dir = Path(ground_truth_dir) if ground_truth_dir is not None else landing_dir.parent / "ground_truth"
    for system in SYSTEMS:
        shutil.rmtree(landing_dir / system, ignore_errors=True)
    (truth_dir / "identities.parquet").unlink(missing_ok=True)
    summary = _simulate_and_write(LandingWriter(landing_dir), truth_dir, sizes, profile, seed, end_date)
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary


def _simulate_and_write(writer: LandingWriter, truth_dir: Path, sizes: Sizes, profile: WorldProfile, seed: int,
                        end_date: date) -> dict:
    """The steps, in their order. Every builder draws from the one seeded RNG, so this order is
    part of what a seed means: moving a step changes every file after it."""
    rng = np.random.default_rng(seed)
    # Content variants come from RNGs of their own: adding or changing the content experiments
    # leaves every other generated value as it was.
    email_variant_rng, web_variant_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    window = Window.ending(end_date, sizes.days, profile.utc_hour_shift)
    summary: dict[str, float] = {}

    def write(name: str, table: pa.Table, **options) -> None:
        summary[name] = writer.write(CONTRACTS_BY_NAME[name], table, **options)

    def absent(name: str) -> None:
        """A source the retailer does not have: an empty landing folder says so."""
        contract = CONTRACTS_BY_NAME[name]
        (writer.landing_dir / contract.system / contract.entity).mkdir(parents=True, exist_ok=True)

    people = build_people(rng, window, sizes, profile)
    devices = build_devices(rng, sizes, people)
    catalog = build_catalog(rng, window, sizes, profile)
    locations = build_locations(rng, sizes, profile, catalog)
    orders = build_orders(rng, window, sizes, profile, people, devices, catalog, locations)
    records, customers = build_crm_customers(rng, window, profile, people, orders)
    tickets, ticket_emails = build_tickets(rng, window, people, orders, records)
    consents, email_events, newsletter_clicks = build_consents_and_email(rng, window, profile, catalog, records,
                                                                           email_variant_rng)
    none = np.zeros(0, dtype=np.int64)
    web_seen = dict(web_devices=none, web_accounts=none, web_emails=none, web_phones=none)
    if profile.has_web:  # the newsletter clicks start web sessions
        web = build_web(rng, window, sizes, profile, people, devices, catalog, orders, newsletter_clicks,
                        web_variant_rng)
        write("web__events", web.table, order=web.row_order, render=web.json)
        orders = attach_carts(orders, web.carts)
        web_seen = dict(web_devices=web.devices_seen, web_accounts=web.accounts_seen, web_emails=web.emails_seen,
                        web_phones=web.phones_seen)
        del web  # the events are the largest table by far
    else:
        absent("web__events")
    write("oms__orders", orders_table(orders, people, locations, profile))
    write("oms__order_lines", order_lines_table(orders, catalog))
    returns = build_returns(rng, window, profile, people, catalog, orders)
    write("oms__returns", returns.table)
    write("crm__customers", customers)
    write("crm__support_tickets", tickets)
    write("crm__email_events", email_events)
    write("crm__marketing_consents", consents)
    write("pim__products", products_table(catalog, window, profile))
    review_accounts = none
    if profile.has_reviews:
        reviews, review_accounts = build_reviews(rng, window, people, catalog, orders, returns.returned_lines)
        write("pim__reviews", reviews)
    else:
        absent("pim__reviews")
    write("wms__locations", locations_table(locations, window, profile))
    snapshots, shipments = build_inventory(rng, window, sizes, profile, catalog, locations, orders)
    write("wms__inventory_snapshots", snapshots)
    write("wms__inbound_shipments", shipments)
    seen = IdentifiersSeen(**web_seen, ticket_emails=ticket_emails, review_accounts=review_accounts,
                           gift_return_accounts=returns.accounts_seen)
    truth = identities_table(people, devices, orders, records, seen)
    truth_dir.mkdir(parents=True, exist_ok=True)
    pq.write_table(truth, truth_dir / "identities.parquet", compression="zstd")
    summary["ground_truth_identifiers"] = truth.num_rows
    return summary
