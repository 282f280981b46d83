"""Marketing consents and the weekly newsletter: consent events, e-mail events (send, open, click,
bounce, unsubscribe) and the newsletter clicks (NewsletterClicks) that start web sessions.

A click lands in one of the subscriber's browsers on the clicked link plus the subscriber token
the ESP's click redirect appends (`rcl_sub=<CRM id>`; some landings lose it, one newsletter went
out with an unrendered merge tag), which is how a shop ties many otherwise anonymous browsers to
a CRM record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import pyarrow as pa

from dagster_project.sample_data.catalog import Catalog
from dagster_project.sample_data.columns import dictionary_column, numbered_in_order, sequential_ids
from dagster_project.sample_data.content_variants import content_variants, shown_variants
from dagster_project.sample_data.crm import CrmRecords
from dagster_project.sample_data.profile import WorldProfile
from dagster_project.sample_data.window import HOUR, NEVER, Window, day_of

CONSENT_CHANNELS = ["email", "sms", "personalization"]
CONSENT_SOURCES = ["checkout", "account_page", "email_link", "store", "support"]
EMAIL_EVENT_TYPES = ["send", "open", "click", "bounce", "unsubscribe"]
# The ESP's click redirect appends the subscriber (the CRM record the e-mail went to) to every
# newsletter link: ...&rcl_sub=CRM1000123. Some landings lose it (privacy extensions and
# link-scanning proxies strip query parameters) or carry a junk value (a template whose merge tag
# was not rendered, an empty tag).
SUBSCRIBER_PARAM = "rcl_sub"
JUNK_SUBSCRIBER_TOKENS = ["*|SUB_ID|*", "", "null"]
SUBSCRIBER_TOKEN_STRIPPED_P = 0.04
SUBSCRIBER_TOKEN_EMPTY_P = 0.01


@dataclass(frozen=True)
class NewsletterClicks:
    person: np.ndarray
    at: np.ndarray
    product: np.ndarray  # the product page the clicked link goes to
    campaign: np.ndarray  # index into campaign_ids
    token: np.ndarray  # index into subscriber_tokens; -1: stripped on the way
    campaign_ids: list[str]
    subscriber_tokens: list[str]  # the CRM ids, then JUNK_SUBSCRIBER_TOKENS


class _Rows:
    """Columns gathered part by part, concatenated in the order they were added."""

    def __init__(self, *names: str):
        self.parts: dict[str, list] = {name: [] for name in names}

    def add(self, **columns) -> None:
        for name, values in columns.items():
            self.parts[name].append(values)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: np.concatenate(parts) for name, parts in self.parts.items()}


def build_consents_and_email(rng: np.random.Generator, window: Window, profile: WorldProfile, catalog: Catalog,
                             records: CrmRecords, variant_rng: np.random.Generator
                             ) -> tuple[pa.Table, pa.Table, NewsletterClicks]:
    """crm/marketing_consents, crm/email_events and the newsletter clicks; the subject-line
    variants are drawn from `variant_rng` alone (content_variants.py)."""
    consents = _Rows("record", "channel", "granted", "source", "at")
    granted, changes_at = _initial_consents(rng, window, records, consents)
    campaign_days = _newsletter_days(window)
    mailing = _send_newsletters(rng, window, profile, catalog, records, campaign_days, granted, changes_at, consents,
                                variant_rng)
    clicks = _newsletter_clicks(rng, window, records, mailing["clicks"].arrays(), mailing["campaign_ids"])
    return (_consents_table(window, records, consents.arrays()),
            _email_events_table(window, records, mailing), clicks)


def _initial_consents(rng: np.random.Generator, window: Window, records: CrmRecords,
                      consents: _Rows) -> tuple[np.ndarray, np.ndarray]:
    """Each record's consent per channel at creation, and the one change some make later."""
    n = len(records.person)
    first_at = records.first_version_at
    subscriber = records.subscribed[records.person] & ~records.is_duplicate
    grant_p = np.stack([np.where(subscriber, 1.0, 0.5), np.full(n, 0.15), np.full(n, 0.6)], 1)
    granted = rng.random((n, 3)) < grant_p
    changes = rng.random((n, 3)) < 0.05
    changes_at = first_at[:, None] + HOUR + (rng.random((n, 3)) * np.maximum(window.end - first_at - HOUR, 0)[:, None]
                                             ).astype(np.int64)
    changes_at = np.where(changes & (changes_at < window.end), changes_at, NEVER)
    # record creation source (checkout, store, account_page, -, support) -> consent source
    creation_source = np.array([0, 3, 1, 1, 4])[records.source]
    consents.add(record=np.repeat(np.arange(n), 3), channel=np.tile(np.arange(3), n), granted=granted.ravel(),
                 source=np.repeat(creation_source, 3), at=np.repeat(first_at, 3) + np.tile(np.arange(3), n))
    changed_record, changed_channel = np.nonzero(changes_at < NEVER)
    consents.add(record=changed_record, channel=changed_channel, granted=~granted[changed_record, changed_channel],
                 source=np.where(rng.random(len(changed_record)) < 0.7, 1, 4),
                 at=changes_at[changed_record, changed_channel])
    return granted, changes_at


def _newsletter_days(window: Window) -> list:
    """A weekly newsletter on Tuesdays (08:00 UTC)."""
    day = window.start_date + timedelta(days=(1 - window.start_date.weekday()) % 7)
    days = []
    while day <= window.end_date:
        days.append(day)
        day += timedelta(days=7)
    return days


def _send_newsletters(rng: np.random.Generator, window: Window, profile: WorldProfile, catalog: Catalog,
                      records: CrmRecords, campaign_days: list, granted: np.ndarray, changes_at: np.ndarray,
                      consents: _Rows, variant_rng: np.random.Generator) -> dict:
    """Every campaign goes to the records with e-mail consent at send time that have neither
    bounced nor unsubscribed; an unsubscribe is also a consent event. Each send carries the
    subject-line variant it went out with; the variant's lift shows in who opens."""
    n = len(records.person)
    unsubscribed = np.zeros(n, bool)
    bounced = np.zeros(n, bool)
    events = _Rows("record", "campaign", "type", "url", "at", "variant")
    # clicks: record, time, product of the clicked link, campaign (the web sessions they start)
    clicks = _Rows("record", "at", "product", "campaign")
    clicks.add(**{name: np.zeros(0, np.int64) for name in clicks.parts})
    urls = []
    campaign_ids = [f"NL-{day.isocalendar()[0]}-W{day.isocalendar()[1]:02d}" for day in campaign_days]
    subjects = content_variants(variant_rng, campaign_ids, profile.content_variant_lifts, "subj")
    for campaign, day in enumerate(campaign_days):
        send_time = int(datetime(day.year, day.month, day.day, 8, tzinfo=timezone.utc).timestamp())
        picks = rng.choice(catalog.evergreen, size=4, replace=False, p=catalog.evergreen_p)
        first_url = len(urls)
        urls += [f"{profile.shop_url}/p/{catalog.slugs[p]}?utm_source=newsletter&utm_medium=email"
                 f"&utm_campaign={campaign_ids[campaign]}" for p in picks]
        consented = granted[:, 0] ^ (changes_at[:, 0] <= send_time)
        eligible = (records.first_version_at <= send_time) & consented & ~unsubscribed & ~bounced
        outcome = _campaign_outcome(rng, eligible, send_time, first_url)
        sent, clicked, bounce, unsubscribe = (outcome[k] for k in ("sent", "clicked", "bounce", "unsubscribe"))
        subject = shown_variants(variant_rng, subjects, np.full(len(sent), campaign), outcome["opened"])
        clicks.add(record=sent[clicked], at=outcome["click_at"][clicked],
                   product=picks[outcome["url"][clicked] - first_url],
                   campaign=np.full(int(clicked.sum()), campaign))
        for mask, event_type, times, with_url in [
                (np.ones(len(sent), bool), 0, outcome["sent_at"], False), (outcome["opened"], 1, outcome["open_at"], False),
                (clicked, 2, outcome["click_at"], True), (bounce, 3, outcome["sent_at"] + 30, False),
                (unsubscribe, 4, outcome["unsubscribe_at"], False)]:
            events.add(record=sent[mask], campaign=np.full(int(mask.sum()), campaign),
                       type=np.full(int(mask.sum()), event_type),
                       url=outcome["url"][mask] if with_url else np.full(int(mask.sum()), -1), at=times[mask],
                       variant=subject[mask])
        bounced[sent[bounce]] = True
        unsubscribed[sent[unsubscribe]] = True
        count = int(unsubscribe.sum())
        consents.add(record=sent[unsubscribe], channel=np.zeros(count, np.int64), granted=np.zeros(count, bool),
                     source=np.full(count, 2), at=outcome["unsubscribe_at"][unsubscribe])
    return dict(events=events.arrays(), clicks=clicks, urls=urls, campaign_ids=campaign_ids,
                subject_variant_ids=subjects.ids)


def _campaign_outcome(rng: np.random.Generator, eligible: np.ndarray, send_time: int, first_url: int) -> dict:
    """Who of the eligible is sent the campaign, and who opens, clicks, bounces or unsubscribes when."""
    draws = rng.random((len(eligible), 5))
    sent = np.flatnonzero(eligible & (draws[:, 0] < 0.97))
    sent_at = send_time + (draws[sent, 1] * 1800).astype(np.int64)
    bounce = draws[sent, 2] < 0.008
    opened = ~bounce & (draws[sent, 3] < 0.25)
    clicked = opened & (draws[sent, 4] < 0.16)
    unsubscribe = opened & ~clicked & (draws[sent, 4] > 0.99)
    open_at = sent_at + 60 + rng.exponential(6 * HOUR, len(sent)).astype(np.int64)
    click_at = open_at + 5 + rng.exponential(120, len(sent)).astype(np.int64)
    unsubscribe_at = open_at + 10 + rng.exponential(60, len(sent)).astype(np.int64)
    url = first_url + rng.integers(0, 4, len(sent))
    return dict(sent=sent, sent_at=sent_at, bounce=bounce, opened=opened, clicked=clicked, unsubscribe=unsubscribe,
                open_at=open_at, click_at=click_at, unsubscribe_at=unsubscribe_at, url=url)


def _newsletter_clicks(rng: np.random.Generator, window: Window, records: CrmRecords, clicks: dict,
                       campaign_ids: list[str]) -> NewsletterClicks:
    """Each click lands on the shop (web.py) with the link's UTM parameters and the subscriber
    token the ESP's click redirect appends."""
    inside = clicks["at"] < window.end
    record, at, product, campaign = (clicks[k][inside] for k in ("record", "at", "product", "campaign"))
    n_records = len(records.ids)
    token = records.number[record].astype(np.int64)  # index into the subscriber tokens: the CRM id
    # one newsletter of the window went out with an unrendered merge tag in its links
    broken = int(rng.integers(0, max(len(campaign_ids), 1)))
    token = np.where(campaign == broken, n_records, token)
    draw = rng.random(len(at))
    junk = n_records + 1 + (rng.random(len(at)) * (len(JUNK_SUBSCRIBER_TOKENS) - 1)).astype(np.int64)
    token = np.where(draw < SUBSCRIBER_TOKEN_STRIPPED_P, -1,
                     np.where(draw < SUBSCRIBER_TOKEN_STRIPPED_P + SUBSCRIBER_TOKEN_EMPTY_P, junk, token))
    return NewsletterClicks(person=records.person[record], at=at, product=product, campaign=campaign, token=token,
                            campaign_ids=campaign_ids,
                            subscriber_tokens=records.ids.to_pylist() + JUNK_SUBSCRIBER_TOKENS)


def _consents_table(window: Window, records: CrmRecords, consents: dict) -> pa.Table:
    inside = consents["at"] < window.end
    record, channel, granted, source, at = (consents[k][inside] for k in ("record", "channel", "granted", "source", "at"))
    rank = np.lexsort((channel, records.number[record], at))
    return pa.table({
        "consent_event_id": dictionary_column(numbered_in_order(rank), sequential_ids("MC", len(at), 8, start=10_000_001)),
        "crm_customer_id": dictionary_column(records.number[record], records.ids),
        "channel": dictionary_column(channel, CONSENT_CHANNELS),
        "is_granted": pa.array(granted),
        "source": dictionary_column(source, CONSENT_SOURCES),
        "recorded_at": at,
        "_day": day_of(at),
    }).take(pa.array(rank))


def _email_events_table(window: Window, records: CrmRecords, mailing: dict) -> pa.Table:
    events = mailing["events"]
    inside = events["at"] < window.end
    record, campaign, event_type, url, at, variant = (
        events[k][inside] for k in ("record", "campaign", "type", "url", "at", "variant"))
    rank = np.lexsort((event_type, records.number[record], at))
    return pa.table({
        "email_event_id": dictionary_column(numbered_in_order(rank), sequential_ids("EE", len(at), 9, start=100_000_001)),
        "crm_customer_id": dictionary_column(records.number[record], records.ids),
        "campaign_id": dictionary_column(campaign, mailing["campaign_ids"]),
        "event_type": dictionary_column(event_type, EMAIL_EVENT_TYPES),
        "url": dictionary_column(url, mailing["urls"]),
        "occurred_at": at,
        "content_variant_id": dictionary_column(variant, mailing["subject_variant_ids"]),
        "_day": day_of(at),
    }).take(pa.array(rank))
