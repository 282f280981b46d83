"""The identity ground truth: which person every identifier seen in the sources belongs to, for
scoring identity resolution (`<ground_truth_dir>/identities.parquet`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dagster_project.sample_data.crm import CrmRecords
from dagster_project.sample_data.devices import Devices
from dagster_project.sample_data.orders import Orders
from dagster_project.sample_data.people import N_EMAIL_VARIANTS, N_PHONE_VARIANTS, People

NOBODY = "shared"  # placeholder e-mails typed for many different walk-in customers


@dataclass(frozen=True)
class IdentifiersSeen:
    """What the sources other than the orders and CRM records show: indices into the people's,
    devices' and accounts' identifiers. Empty for a source the retailer does not have."""
    web_devices: np.ndarray
    web_accounts: np.ndarray
    web_emails: np.ndarray
    web_phones: np.ndarray
    ticket_emails: np.ndarray
    review_accounts: np.ndarray
    gift_return_accounts: np.ndarray


def identities_table(people: People, devices: Devices, orders: Orders, records: CrmRecords,
                     seen: IdentifiersSeen) -> pa.Table:
    persons, kinds, values = [], [], []

    def add(person: np.ndarray, kind: str, identifier: pa.Array) -> None:
        persons.append(np.asarray(person))
        kinds.append(kind)
        values.append(identifier)

    add(devices.person[seen.web_devices], "anonymous_id", devices.ids.take(pa.array(seen.web_devices)))
    accounts = np.unique(np.concatenate([orders.account[orders.account >= 0], seen.web_accounts, records.accounts_seen,
                                         seen.review_accounts, seen.gift_return_accounts]))
    add(people.account_person[accounts], "oms_customer_id", people.account_ids.take(pa.array(accounts)))
    add(records.person, "crm_customer_id", records.ids.take(pa.array(records.number)))
    emails = np.unique(np.concatenate([orders.email, records.email, seen.ticket_emails, seen.web_emails]))
    emails = emails[emails >= 0]  # orders without an e-mail
    email_person = np.where(emails >= people.first_placeholder_email, -1, emails // N_EMAIL_VARIANTS)
    add(email_person, "email", people.email_variants.take(pa.array(emails)))
    phones = np.unique(np.concatenate([orders.phone, records.phones_written, seen.web_phones]))
    phones = phones[phones >= 0]
    add(phones // N_PHONE_VARIANTS, "phone", people.phone_variants.take(pa.array(phones)))
    person = np.concatenate(persons)
    person_ids = [f"P{p + 1:06d}" if p >= 0 else NOBODY for p in person.tolist()]
    table = pa.table({
        "person_id": pa.array(person_ids, pa.string()),
        "identifier_type": pa.array([kind for kind, v in zip(kinds, values) for _ in range(len(v))], pa.string()),
        "identifier_value": pa.concat_arrays([v.cast(pa.string()) for v in values]),
    })
    return table.sort_by([("person_id", "ascending"), ("identifier_type", "ascending"),
                          ("identifier_value", "ascending")])
