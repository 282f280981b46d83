"""Consent at read time: the consent in force per customer, read from the online store when the
answer is served, and the features that need it withheld when it is not given.

What needs consent comes from tags (catalog.py): a view tagged `requires_consent: <channel>` is
withheld wherever it is served; a service tagged so withholds its views keyed by the consent
view's key (the customer), except the consent view itself. For a customer whose consent for the
channel is withdrawn (false), those values are null with status CONSENT_WITHDRAWN; never recorded
(no consent row, or a null for the channel) follows the `consent_never_recorded` setting:
"not_withdrawn" serves them, "withdrawn" withholds them with status CONSENT_NOT_RECORDED.

The answer's `metadata.consent` has a block per channel involved (the withheld one, and the
request's `channel`): per entity row `consent` (true, false or null), `as_of`, `allowed` and
`reason`, plus `withheld_features` and the `withheld_customers`. Why and how: docs/privacy.md, "Consent".
"""

from __future__ import annotations

from datetime import datetime, timezone

from dagster_project.serving.catalog import Catalog
from dagster_project.serving.decode import timestamp_text
from dagster_project.serving.read import NO_TIME, PRESENT, read_online_features
from dagster_project.serving.request import FeatureColumn, OnlineRequest

CONSENT_WITHDRAWN, CONSENT_NOT_RECORDED = "CONSENT_WITHDRAWN", "CONSENT_NOT_RECORDED"


def withheld_columns(catalog: Catalog, request: OnlineRequest) -> dict[str, list[int]]:
    """Channel -> the indexes (in request.columns) of the features served only under its consent."""
    source = catalog.consent
    if source is None:
        return {}
    by_service = catalog.service_consent.get(request.feature_service) if request.feature_service else None
    gated: dict[str, list[int]] = {}
    for i, column in enumerate(request.columns):
        served = catalog.views.get(column.view) or catalog.on_demand[column.view]  # join keys, requires_consent
        if column.view == source.view or source.join_key not in served.join_keys:
            continue
        channel = served.requires_consent or by_service
        if channel in source.channels:
            gated.setdefault(channel, []).append(i)
    return gated


def _as_of_text(value) -> str | None:
    """A `<channel>_consent_as_of` value (UnixTimestamp: epoch seconds, or a datetime) as RFC 3339."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return timestamp_text(value.astimezone(timezone.utc))
    if isinstance(value, (int, float)):
        return timestamp_text(datetime.fromtimestamp(value, tz=timezone.utc))
    return str(value)


def read_consent(catalog: Catalog, online_store, config, request: OnlineRequest, channels: list[str],
                 now: datetime, never_recorded: str) -> dict[str, dict]:
    """Per channel, the consent in force for each entity row of `request`: the consent view read
    without the request's max_age (a consent stays in force however old; the view's TTL applies)."""
    source = catalog.consent
    columns = [FeatureColumn(source.view, f"{channel}_{suffix}", f"{channel}_{suffix}")
               for channel in channels for suffix in ("consent", "consent_as_of")]
    consent_request = OnlineRequest(entities={source.join_key: request.entities[source.join_key]}, columns=columns,
                                    max_age_seconds=None, include_age=False)
    results = read_online_features(catalog, online_store, config, consent_request, now)["results"][1:]
    blocks = {}
    for n, channel in enumerate(channels):
        given, as_of = results[2 * n], results[2 * n + 1]
        consent = [value if status == PRESENT else None for value, status in zip(given["values"], given["statuses"])]
        allowed = [c is True or (c is None and never_recorded == "not_withdrawn") for c in consent]
        blocks[channel] = {
            "consent": consent,
            "as_of": [_as_of_text(v) if c is not None else None for v, c in zip(as_of["values"], consent)],
            "allowed": allowed,
            "reason": [None if c is True else CONSENT_WITHDRAWN if c is False else CONSENT_NOT_RECORDED
                       for c in consent],
        }
    return blocks


def apply_consent(catalog: Catalog, online_store, config, request: OnlineRequest, answer: dict, now: datetime,
                  never_recorded: str) -> dict:
    """`answer` (read_online_features') with the features needing a consent not in force withheld,
    and `metadata.consent` added when a consent was involved; unchanged otherwise."""
    gated = withheld_columns(catalog, request)
    channels = list(dict.fromkeys([*gated, *([request.channel] if request.channel else [])]))
    if not channels:
        return answer
    blocks = read_consent(catalog, online_store, config, request, channels, now, never_recorded)
    keys = len(request.join_keys)  # the join key columns come first
    customers = request.entities[catalog.consent.join_key]
    for channel, block in blocks.items():
        indexes = gated.get(channel, [])
        block["withheld_features"] = [request.columns[i].output_name for i in indexes]
        withheld_rows = [row for row, ok in enumerate(block["allowed"]) if not ok] if indexes else []
        block["withheld_customers"] = list(dict.fromkeys(customers[row] for row in withheld_rows))
        for i in indexes:
            result = answer["results"][keys + i]
            for row in withheld_rows:
                result["values"][row] = None
                result["statuses"][row] = block["reason"][row]
                result["event_timestamps"][row] = NO_TIME
                if "ages_seconds" in result:
                    result["ages_seconds"][row] = None
    answer["metadata"]["consent"] = blocks
    return answer
