"""The simulated population (People): who each person is and where they live, the ways their
e-mail and phone get typed, how active they are, and whether and when they opened an OMS account."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dagster_project.sample_data.columns import sequential_ids
from dagster_project.sample_data.profile import WorldProfile
from dagster_project.sample_data.scales import Sizes
from dagster_project.sample_data.window import DAY, NEVER, Window

# How an e-mail gets typed: as registered, Title.Case, UPPER, leading space, trailing space.
N_EMAIL_VARIANTS = 5
EMAIL_VARIANT_P = np.array([0.86, 0.06, 0.02, 0.03, 0.03])
# +4915112345678, +49 151 12345678, 0151 12345678 (or the NANP spellings)
N_PHONE_VARIANTS = 3
PHONE_VARIANT_P = (0.4, 0.35, 0.25)

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e", "ê": "e", "ë": "e",
                       "ç": "c", "ı": "i", "ş": "s", "ğ": "g", "ó": "o", "ł": "l", " ": "", "'": ""})


@dataclass(frozen=True)
class People:
    country: np.ndarray  # index into profile.countries
    first_names: pa.Array
    last_names: pa.Array
    cities: pa.Array
    postcodes: pa.Array
    streets: pa.Array
    regions: pa.Array | None  # region (state) of the person's city, where the profile has them
    sales_tax: np.ndarray  # sales-tax rate of the person's city; 0 where prices include tax
    # N_EMAIL_VARIANTS per person (person * N_EMAIL_VARIANTS + variant), then the placeholders
    # that store staff type for walk-in guests (from first_placeholder_email on)
    email_variants: pa.Array
    first_placeholder_email: int
    phone_variants: pa.Array  # N_PHONE_VARIANTS per person
    has_phone: np.ndarray
    birth_year: np.ndarray
    # Orders and browsing sessions per year relative to the scale's average.
    order_activity: np.ndarray
    browse_activity: np.ndarray
    registered_at: np.ndarray  # OMS account opened; NEVER without one
    account_of: np.ndarray  # person -> index into account_ids; -1 without one
    account_ids: pa.Array  # numbered in registration order
    account_person: np.ndarray  # account -> person

    @property
    def count(self) -> int:
        return len(self.country)


def pick_email(rng: np.random.Generator, persons: np.ndarray) -> np.ndarray:
    """How each of `persons` types their e-mail this time: an index into email_variants."""
    return persons * N_EMAIL_VARIANTS + rng.choice(N_EMAIL_VARIANTS, size=len(persons), p=EMAIL_VARIANT_P)


def pick_phone(rng: np.random.Generator, persons: np.ndarray) -> np.ndarray:
    """How each of `persons` writes their phone number this time: an index into phone_variants."""
    return persons * N_PHONE_VARIANTS + rng.choice(N_PHONE_VARIANTS, size=len(persons), p=PHONE_VARIANT_P)


def build_people(rng: np.random.Generator, window: Window, sizes: Sizes, profile: WorldProfile) -> People:
    n = sizes.people
    country = rng.choice(len(profile.countries), size=n, p=profile.country_p)
    draws = rng.random((n, 10))
    identities = [_identity(profile, profile.countries[country[i]], draws[i]) for i in range(n)]
    first, last, city, postcode, street, emails, city_rows = (list(x) for x in zip(*identities))
    emails = _unique_emails(emails)
    email_variants = [way for email in emails for way in _typed_emails(email)]
    phone_variants = _phone_variants(rng, profile, country, city_rows)
    birth_year = np.clip(np.rint(rng.normal(1984, 13, n)), 1940, 2007).astype(np.int32)
    # Activity: most people buy rarely, a few very often; some only browse.
    activity = rng.gamma(0.8, 1 / 0.8, n)
    order_activity = activity * (rng.random(n) > 0.15)
    browse_activity = 0.5 * activity + 0.5 * rng.gamma(0.8, 1 / 0.8, n)
    registered_at, account_of, account_person = _accounts(rng, window, profile, n)
    return People(
        country=country,
        first_names=pa.array(first, pa.string()),
        last_names=pa.array(last, pa.string()),
        cities=pa.array(city, pa.string()),
        postcodes=pa.array(postcode, pa.string()),
        streets=pa.array(street, pa.string()),
        regions=(pa.array([row[3] for row in city_rows], pa.string())
                 if any(len(row) > 3 for row in city_rows) else None),
        sales_tax=np.array([row[5] if len(row) > 5 else 0.0 for row in city_rows]),
        email_variants=pa.array(email_variants + list(profile.junk_emails), pa.string()),
        first_placeholder_email=n * N_EMAIL_VARIANTS,
        phone_variants=pa.array(phone_variants, pa.string()),
        has_phone=draws[:, 9] < 0.7,
        birth_year=birth_year,
        order_activity=order_activity,
        browse_activity=browse_activity,
        registered_at=registered_at,
        account_of=account_of,
        account_ids=sequential_ids("OC", len(account_person), 6, start=101),
        account_person=account_person,
    )


def _identity(profile: WorldProfile, code: str, draws: np.ndarray) -> tuple:
    """Name, city, postcode, street and registered e-mail of one person in country `code`, from
    ten uniform draws (string building is clearer per person; it runs per person, not per event)."""
    first = profile.first_names[code][int(draws[0] * len(profile.first_names[code]))]
    last = profile.last_names[code][int(draws[1] * len(profile.last_names[code]))]
    city_row = profile.cities[code][int(draws[2] ** 1.6 * len(profile.cities[code]))]
    city, first_postcode, span = city_row[:3]
    number = first_postcode + int(draws[3] * span)
    if code == "NL":
        postcode = f"{number} {chr(65 + int(draws[4] * 26))}{chr(65 + int(draws[5] * 26))}"
    else:
        postcode = f"{number:05d}" if code in ("DE", "FR", "US") else f"{number:04d}"
    street_name = profile.streets[code][int(draws[4] * len(profile.streets[code]))]
    house = 1 + int(draws[5] * 120)
    if code == "US":  # house numbers run into the thousands
        house = 100 + int(draws[5] * 9800)
    street = f"{house} {street_name}" if code in profile.street_number_first else f"{street_name} {house}"
    f, l_ = first.lower().translate(_FOLD), last.lower().translate(_FOLD)
    local = [f"{f}.{l_}", f"{f}{l_}", f"{f[0]}.{l_}", f"{f}_{l_}",
             f"{f}.{l_}{int(draws[7] * 90) + 10}", f"{f}{int(draws[7] * 9000) + 1000}"][int(draws[6] * 6)]
    domains = profile.email_domains[code]
    email = f"{local}@{domains[int(draws[8] ** 1.5 * len(domains))]}"
    return first, last, city, postcode, street, email, city_row


def _unique_emails(emails: list[str]) -> list[str]:
    """E-mails are unique per person: a clash gets a number, as the mail provider would insist."""
    emails = list(emails)
    seen: dict[str, int] = {}
    for i, email in enumerate(emails):
        if email in seen:
            local, domain = email.split("@")
            k = 2
            while f"{local}{k}@{domain}" in seen:
                k += 1
            email = f"{local}{k}@{domain}"
            emails[i] = email
        seen[email] = i
    return emails


def _typed_emails(email: str) -> list[str]:
    local, domain = email.split("@")
    return [email, f"{local.title()}@{domain}", email.upper(), f" {email}", f"{email} "]


def _phone_variants(rng: np.random.Generator, profile: WorldProfile, country: np.ndarray,
                    city_rows: list) -> list[str]:
    n = len(country)
    digits = rng.integers(0, 10, size=(n, 9))
    prefix_draw = rng.random(n)
    variants: list[str] = []
    for i in range(n):
        if profile.phone_style == "nanp":
            # area code of the person's city; exchange 2xx-9xx; as people write them down
            codes = city_rows[i][4]
            area = codes[int(prefix_draw[i] * len(codes))]
            exchange = f"{2 + digits[i, 0] % 8}{digits[i, 1]}{digits[i, 2]}"
            line = "".join(map(str, digits[i, 3:7]))
            variants += [f"({area}) {exchange}-{line}", f"{area}.{exchange}.{line}", f"+1 {area} {exchange} {line}"]
            continue
        calling_code, prefixes = profile.phone_prefixes[profile.countries[country[i]]]
        prefix = prefixes[int(prefix_draw[i] * len(prefixes))]
        number = "".join(map(str, digits[i, : (8 if len(prefix) == 1 else 7 + (i % 2))]))
        variants += [f"{calling_code}{prefix}{number}", f"{calling_code} {prefix} {number}", f"0{prefix} {number}"]
    return variants


def _accounts(rng: np.random.Generator, window: Window, profile: WorldProfile,
              n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OMS accounts: some people register, most before the window, some during it. Accounts are
    numbered in registration order."""
    has_account = rng.random(n) < profile.account_p
    before = rng.random(n) < 0.65
    registered = np.where(before, window.start - rng.integers(DAY, 3 * 365 * DAY, size=n),
                          window.random_times(rng, n))
    registered_at = np.where(has_account, registered, NEVER)
    rank = np.argsort(np.where(has_account, registered, NEVER), kind="stable")
    n_accounts = int(has_account.sum())
    account_of = np.full(n, -1, dtype=np.int64)
    account_of[rank[:n_accounts]] = np.arange(n_accounts)
    return registered_at, account_of, rank[:n_accounts]
