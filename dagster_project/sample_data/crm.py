"""The CRM's customer records (CrmRecords): who gets a record and when, duplicates, which fields
it learns over time, the link to the OMS account; the customers table and support tickets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dagster_project.sample_data.columns import (dictionary_column, last_version_per_day, nullable_column,
                                                 numbered_in_order, sequential_ids)
from dagster_project.sample_data.orders import STORE, Orders
from dagster_project.sample_data.people import N_EMAIL_VARIANTS, N_PHONE_VARIANTS, People, pick_email
from dagster_project.sample_data.profile import WorldProfile
from dagster_project.sample_data.window import DAY, HOUR, NEVER, Window, day_of

# Where a record was first created: checkout, store, account_page, (unused), support.
CHECKOUT, IN_STORE, ACCOUNT_PAGE, SUPPORT = 0, 1, 2, 4


@dataclass(frozen=True)
class CrmRecords:
    ids: pa.Array  # numbered in creation order
    number: np.ndarray  # record -> index into ids
    person: np.ndarray  # record -> person; primary records first, then duplicates
    is_duplicate: np.ndarray
    first_version_at: np.ndarray  # creation, or the initial load on the first day
    source: np.ndarray  # CHECKOUT, IN_STORE, ...
    email: np.ndarray  # index into people.email_variants
    primary_of_person: np.ndarray  # person -> record; -1 if not in the CRM
    duplicate_of_person: np.ndarray  # person -> duplicate record; -1 without one
    subscribed: np.ndarray  # person signed up for the newsletter without buying
    accounts_seen: np.ndarray  # OMS accounts some version links to
    phones_written: np.ndarray  # per version: index into phone_variants, -1 where none


def build_crm_customers(rng: np.random.Generator, window: Window, profile: WorldProfile, people: People,
                        orders: Orders) -> tuple[CrmRecords, pa.Table]:
    contact = _first_contact(rng, window, people, orders)
    in_crm, first_version = contact["in_crm"], contact["first_version"]
    primary = np.flatnonzero(in_crm)
    # Duplicates: the same person created again later (store visit, support call), e-mail typed
    # differently, often without phone and never linked to the OMS account.
    may_duplicate = first_version[primary] < window.end - 2 * DAY
    duplicated = primary[may_duplicate & (rng.random(len(primary)) < 0.03)]
    duplicate_created = window.random_times(rng, len(duplicated), first_version[duplicated] + DAY)
    person = np.concatenate([primary, duplicated])
    is_duplicate = np.concatenate([np.zeros(len(primary), bool), np.ones(len(duplicated), bool)])
    created = np.concatenate([contact["created"][primary], duplicate_created])
    record_first_version = np.concatenate([first_version[primary], duplicate_created])
    email = _record_emails(rng, primary, duplicated)
    source = np.concatenate([contact["source"][primary], rng.choice([IN_STORE, SUPPORT], size=len(duplicated))])
    learned = _fields_learned(rng, window, people, person, is_duplicate, created, record_first_version)
    number = numbered_in_order(np.lexsort((person, created)))
    primary_of_person = np.full(people.count, -1)
    primary_of_person[primary] = np.arange(len(primary))
    duplicate_of_person = np.full(people.count, -1)
    duplicate_of_person[duplicated] = len(primary) + np.arange(len(duplicated))
    versions = _versions(window, record_first_version, learned)
    version_person = person[versions["record"]]
    linked = learned["linked_at"][versions["record"]] <= versions["at"]
    phones_written = np.where(learned["phone_at"][versions["record"]] <= versions["at"],
                              version_person * N_PHONE_VARIANTS + (version_person % 2), -1)
    records = CrmRecords(
        ids=sequential_ids("CRM", len(person), 7, start=1_000_001), number=number, person=person,
        is_duplicate=is_duplicate, first_version_at=record_first_version, source=source, email=email,
        primary_of_person=primary_of_person, duplicate_of_person=duplicate_of_person,
        subscribed=contact["subscribed"], accounts_seen=np.unique(people.account_of[version_person][linked]),
        phones_written=phones_written,
    )
    return records, _customers_table(records, profile, people, created, learned, versions)


def _first_contact(rng: np.random.Generator, window: Window, people: People, orders: Orders) -> dict:
    """Who the CRM knows and since when: account holders, buyers named on an order (an e-mail or
    an account), newsletter sign-ups; existing customers came with the initial load."""
    n = people.count
    named = np.flatnonzero((orders.email >= 0) | (orders.account >= 0))
    buyers, first_named = np.unique(orders.person[named], return_index=True)
    first_order_at = np.full(n, NEVER)
    first_order_at[buyers] = orders.ordered_at[named[first_named]]
    first_channel = np.full(n, -1)
    first_channel[buyers] = orders.channel[named[first_named]]
    has_account = people.account_of >= 0
    subscribed = rng.random(n) < 0.08
    subscribed_at = np.where(subscribed, window.random_times(rng, n), NEVER)
    before_window = has_account & (people.registered_at < window.start)
    in_crm = has_account | (first_order_at < NEVER) | subscribed
    from_order = np.where(first_order_at < NEVER,
                          np.minimum(first_order_at + rng.integers(30, 900, n), window.end - 1), NEVER)
    registered_in_window = np.where(has_account & ~before_window, people.registered_at, NEVER)
    candidates = np.stack([from_order, registered_in_window, subscribed_at], 1)
    how = np.argmin(candidates, 1)
    created = np.where(before_window, people.registered_at, candidates.min(1))
    source = np.where(before_window | (how > 0), ACCOUNT_PAGE, np.where(first_channel == STORE, IN_STORE, CHECKOUT))
    # The CRM went live with an initial load of the existing customers on the first day.
    first_version = np.where(before_window, window.start + 2 * HOUR + rng.integers(0, 3 * HOUR, n), created)
    return dict(in_crm=in_crm, created=created, first_version=first_version, source=source, subscribed=subscribed)


def _record_emails(rng: np.random.Generator, primary: np.ndarray, duplicated: np.ndarray) -> np.ndarray:
    """The e-mail as the CRM has it; a duplicate's is typed differently from its primary's."""
    primary_variant = rng.choice(N_EMAIL_VARIANTS, size=len(primary), p=[0.9, 0.05, 0.01, 0.02, 0.02])
    duplicate_variant = np.where(rng.random(len(duplicated)) < 0.5,
                                 rng.integers(1, N_EMAIL_VARIANTS, len(duplicated)), 0)
    primary_of_duplicate = np.searchsorted(primary, duplicated)
    duplicate_variant = np.where(duplicate_variant == 0, primary_variant[primary_of_duplicate] % 4 + 1,
                                 duplicate_variant)
    person = np.concatenate([primary, duplicated])
    return person * N_EMAIL_VARIANTS + np.concatenate([primary_variant, duplicate_variant])


def _fields_learned(rng: np.random.Generator, window: Window, people: People, person: np.ndarray,
                    is_duplicate: np.ndarray, created: np.ndarray, first_version: np.ndarray) -> dict:
    """When the CRM learns the phone and birth year, links the OMS account, makes its one later
    edit (NEVER: not in this window); whether the record has an address."""
    n = len(person)
    has_phone = people.has_phone[person]
    phone_draw = rng.random(n)
    edited = rng.random(n) < 0.15
    edited_at = np.where(edited, first_version + HOUR + (rng.random(n) * np.maximum(
        window.end - first_version - 2 * HOUR, 0)).astype(np.int64), NEVER)
    edited_at = np.where(edited_at < window.end, edited_at, NEVER)
    phone_at = np.where(has_phone & (phone_draw < np.where(is_duplicate, 0.5, 0.7)), first_version,
                        np.where(has_phone & (phone_draw < 0.85), edited_at, NEVER))
    birth_year_at = np.where(rng.random(n) < 0.6, first_version,
                             np.where(rng.random(n) < 0.3, edited_at, NEVER))
    registered = people.registered_at[person]
    link_draw = rng.random(n)
    linked_at = np.where(is_duplicate, NEVER,
                         np.where(registered <= created, np.where(link_draw < 0.92, first_version, NEVER),
                                  np.where((registered < window.end - 60) & (link_draw < 0.9), registered + 60, NEVER)))
    has_address = ~is_duplicate | (rng.random(n) < 0.5)
    return dict(edited_at=edited_at, phone_at=phone_at, birth_year_at=birth_year_at, linked_at=linked_at,
                has_address=has_address)


def _versions(window: Window, first_version: np.ndarray, learned: dict) -> dict:
    """Versions of each record: creation (or initial load), the OMS link, one later edit; the
    last one per record and day (sorted by record, then time)."""
    linked_at = learned["linked_at"]
    times = np.concatenate([first_version, np.where((linked_at > first_version) & (linked_at < NEVER), linked_at, NEVER),
                            learned["edited_at"]])
    record = np.tile(np.arange(len(first_version)), 3)
    inside = times < window.end
    unique = np.unique(np.stack([record[inside], times[inside]], 1), axis=0)
    record, times = unique[:, 0], unique[:, 1]
    last_of_day = last_version_per_day(record, times)
    return dict(record=record[last_of_day], at=times[last_of_day])


def _customers_table(records: CrmRecords, profile: WorldProfile, people: People, created: np.ndarray,
                     learned: dict, versions: dict) -> pa.Table:
    record, at = versions["record"], versions["at"]
    person = records.person[record]
    address = np.where(learned["has_address"][record], person, -1)
    table = pa.table({
        "crm_customer_id": dictionary_column(records.number[record], records.ids),
        "oms_customer_id": dictionary_column(np.where(learned["linked_at"][record] <= at, people.account_of[person], -1),
                                             people.account_ids),
        "email": dictionary_column(records.email[record], people.email_variants),
        "phone": dictionary_column(records.phones_written, people.phone_variants),
        "first_name": dictionary_column(person, people.first_names),
        "last_name": dictionary_column(person, people.last_names),
        "address": dictionary_column(address, people.streets),
        "postcode": dictionary_column(address, people.postcodes),
        "city": dictionary_column(address, people.cities),
        "country": dictionary_column(np.where(address >= 0, people.country[person], -1), list(profile.countries)),
        "birth_year": nullable_column(people.birth_year[person], learned["birth_year_at"][record] > at),
        "created_at": created[record],
        "updated_at": at,
        "_day": day_of(at),
    })
    if people.regions is not None:
        table = table.append_column("region", dictionary_column(address, people.regions))
    return table.take(pa.array(np.lexsort((records.number[record], at))))


def build_tickets(rng: np.random.Generator, window: Window, people: People, orders: Orders,
                  records: CrmRecords) -> tuple[pa.Table, np.ndarray]:
    """crm/support_tickets, and the e-mails (as typed) the tickets carry."""
    about_order = np.flatnonzero(rng.random(orders.count) < 0.05)
    order_ticket_at = orders.ordered_at[about_order] + rng.integers(HOUR * 5, 20 * DAY, len(about_order))
    order_topic = rng.choice(6, size=len(about_order), p=[0.35, 0.2, 0.15, 0.1, 0.12, 0.08])
    in_crm = np.flatnonzero(records.primary_of_person >= 0)
    other = in_crm[rng.random(len(in_crm)) < 0.02]
    other_at = window.random_times(rng, len(other), records.first_version_at[records.primary_of_person[other]])
    other_topic = rng.choice([2, 4, 5], size=len(other), p=[0.4, 0.3, 0.3])
    person = np.concatenate([orders.person[about_order], other])
    order = np.concatenate([about_order, np.full(len(other), -1)])
    created = np.concatenate([order_ticket_at, other_at])
    topic = np.concatenate([order_topic, other_topic])
    inside = created < window.end
    person, order, created, topic = person[inside], order[inside], created[inside], topic[inside]
    k = len(created)
    record = _ticket_record(rng, records, person, created)
    channel = rng.choice(3, size=k, p=[0.5, 0.3, 0.2])  # email chat phone
    with_email = (channel == 0) | ((channel == 1) & (rng.random(k) < 0.7)) | (record < 0)
    channel = np.where((record < 0) & (channel == 2), 0, channel)
    email = np.where(with_email, pick_email(rng, person), -1)
    solved_at = created + HOUR + rng.exponential(1.5 * DAY, k).astype(np.int64)
    solved = (solved_at < window.end) & (rng.random(k) < 0.97)
    status = np.where(solved, 2, np.where(rng.random(k) < 0.5, 0, 1))  # open pending solved
    satisfaction = np.where(solved & (rng.random(k) < 0.4),
                            rng.choice([1, 2, 3, 4, 5], size=k, p=[0.06, 0.07, 0.15, 0.32, 0.4]), -1)
    rank = np.lexsort((person, created))
    table = pa.table({
        "ticket_id": dictionary_column(numbered_in_order(rank), sequential_ids("T", k, 7, start=5_000_001)),
        "crm_customer_id": dictionary_column(np.where(record >= 0, records.number[np.maximum(record, 0)], -1),
                                             records.ids),
        "email": dictionary_column(email, people.email_variants),
        "order_id": dictionary_column(order, orders.ids),
        "channel": dictionary_column(channel, ["email", "chat", "phone"]),
        "topic": dictionary_column(topic, ["delivery", "return", "product_question", "payment", "warranty", "account"]),
        "status": dictionary_column(status, ["open", "pending", "solved"]),
        "priority": dictionary_column(rng.choice(3, size=k, p=[0.2, 0.65, 0.15]), ["low", "normal", "high"]),
        "satisfaction_score": nullable_column(np.maximum(satisfaction, 1).astype(np.int32), satisfaction < 0),
        "created_at": created,
        "solved_at": nullable_column(solved_at, ~solved),
        "_day": day_of(created),
    })
    return table.take(pa.array(rank)), email[email >= 0]


def _ticket_record(rng: np.random.Generator, records: CrmRecords, person: np.ndarray,
                   created: np.ndarray) -> np.ndarray:
    """The CRM record an agent files a ticket under: mostly the primary, sometimes the duplicate."""
    k = len(person)
    primary = records.primary_of_person[person]
    duplicate = records.duplicate_of_person[person]
    record = np.where((primary >= 0) & (records.first_version_at[np.maximum(primary, 0)] <= created)
                      & (rng.random(k) < 0.85), primary, -1)
    use_duplicate = ((duplicate >= 0) & (record >= 0) & (records.first_version_at[np.maximum(duplicate, 0)] <= created)
                     & (rng.random(k) < 0.3))
    return np.where(use_duplicate, duplicate, record)
