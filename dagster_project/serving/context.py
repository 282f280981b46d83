"""Context a generator can cite, and claim checks before it writes.

`build_context` turns a read of a feature service into facts per entity, each with value,
status, as-of time, age, the dbt model it came from, that model's source systems and the
column's description, all read from the dbt manifest (not typed a second time); the facts keep
the service's declared order, which is their priority when a size budget (`max_facts`) trims them.
A fact withheld for want of consent (serving/consent.py) has a null value, status
CONSENT_WITHDRAWN or CONSENT_NOT_RECORDED and no as-of time, and the entity's context says which
consent was in force (`consent`), so a generator neither cites nor guesses around it.

`check_claims` answers claims a generator wants to make about a product (in stock, stock at most
N, current price, pick-up at K stores, at K stores in a region) true or false with the current value and its as-of time:
a value that is not PRESENT (unknown product, older than the view's TTL or the request's max
age) makes the claim false, so a message is only sent on known, fresh data.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

from dagster_project.serving.request import RequestError, shown
from dagster_project.settings import DBT_PROJECT_DIR

MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
# statuses of facts without a value of their own time: unknown entity, withheld for consent
NO_AS_OF = frozenset({"NOT_FOUND", "CONSENT_WITHDRAWN", "CONSENT_NOT_RECORDED"})
CONSENT_ROW_FIELDS = ("consent", "as_of", "allowed", "reason")


@lru_cache(maxsize=4)
def model_provenance(manifest_path: Path = MANIFEST_PATH) -> dict[str, dict]:
    """dbt model name -> {"source_systems": [...], "columns": {column: description}} for every model
    (empty without a manifest: facts then say dbt_model null rather than guess)."""
    if not Path(manifest_path).exists():
        return {}
    manifest = json.loads(Path(manifest_path).read_text())
    nodes = manifest["nodes"]
    sources = manifest.get("sources", {})

    def systems(unique_id: str, seen: set) -> set:
        if unique_id in sources:
            return {sources[unique_id]["source_name"]}
        if unique_id in seen or unique_id not in nodes:
            return set()
        seen.add(unique_id)
        found: set = set()
        for parent in nodes[unique_id].get("depends_on", {}).get("nodes", []):
            found |= systems(parent, seen)
        return found

    return {
        node["name"]: {"source_systems": sorted(systems(uid, set())),
                       "columns": {c: (spec.get("description") or "") for c, spec in node.get("columns", {}).items()}}
        for uid, node in nodes.items() if node.get("resource_type") == "model"
    }


def build_context(answer: dict, request, catalog, max_facts: int | None = None,
                  manifest_path: Path = MANIFEST_PATH) -> list[dict]:
    """Facts per entity row of a /get-online-features answer (`request`: its OnlineRequest)."""
    provenance = model_provenance(manifest_path)
    keys = request.join_keys
    rows = len(request.entities[keys[0]])
    consent = answer["metadata"].get("consent", {})
    contexts = []
    for row in range(rows):
        facts = []
        for column, result in zip(request.columns, answer["results"][len(keys):]):
            fact = {
                "name": column.output_name, "feature_view": column.view,
                "value": result["values"][row], "status": result["statuses"][row],
                "as_of": None if result["statuses"][row] in NO_AS_OF else result["event_timestamps"][row],
                "age_seconds": (result.get("ages_seconds") or [None] * rows)[row],
            }
            on_demand = catalog.on_demand.get(column.view)
            if on_demand is None:
                # the Parquet file a view reads is the dbt model's export, named after the model
                model = Path(catalog.views[column.view].view.batch_source.path).stem
                origin = provenance.get(model, {"source_systems": [], "columns": {}})
                fact.update({"dbt_model": model if model in provenance else None,
                             "source_systems": origin["source_systems"],
                             "description": origin["columns"].get(column.feature, "")})
            else:  # computed at request time from stored features: their models' systems
                models = [Path(catalog.views[source].view.batch_source.path).stem for source, _ in on_demand.sources]
                fact.update({"dbt_model": None,
                             "computed_from": sorted(f"{source}:{feature}" for source, features in on_demand.sources
                                                     for feature in features) + sorted(on_demand.request_fields),
                             "source_systems": sorted({s for m in models for s in provenance.get(m, {}).get("source_systems", [])}),
                             "description": on_demand.view.description or ""})
            facts.append(fact)
        contexts.append({"entities": {k: request.entities[k][row] for k in keys},
                         "facts": facts[:max_facts] if max_facts else facts,
                         "trimmed": max(0, len(facts) - max_facts) if max_facts else 0,
                         **({"consent": {channel: {field: block[field][row] for field in CONSENT_ROW_FIELDS}
                                         for channel, block in consent.items()}} if consent else {})})
    return contexts


# claim -> (the view and feature it reads, the test of the claim against the feature's value)
CLAIMS = {
    "in_stock": ("product_features", "is_in_stock", lambda value, _: value is True),
    "stock_at_most": ("product_features", "units_available", lambda value, claim: value <= claim["value"]),
    "stock_at_least": ("product_features", "units_available", lambda value, claim: value >= claim["value"]),
    "price_is": ("product_features", "price", lambda value, claim: math.isclose(value, claim["value"], abs_tol=0.005)),
    "pickup_stores_at_least": ("product_features", "stores_in_stock", lambda value, claim: value >= claim["value"]),
    # "pick up at K stores in your region": the per-location stock's stores in stock per region
    "pickup_stores_in_region_at_least": ("stock_by_product", "stores_in_stock_by_region",
                                         lambda value, claim: stores_in_region(value, claim["region"]) >= claim["value"]),
}
CLAIM_FIELDS = {"product_id", "claim", "value", "region"}


def stores_in_region(stores_by_region: str, region: str) -> int:
    """Stores in stock in `region` from stock_by_product's 'region:count,...' (0 when absent)."""
    for entry in filter(None, stores_by_region.split(",")):
        name, _, count = entry.rpartition(":")
        if name == region:
            return int(count)
    return 0


def parse_claims(body: object, limits) -> tuple[list[dict], float | None]:
    if not isinstance(body, dict) or not isinstance(body.get("claims"), list) or not body["claims"]:
        raise RequestError(422, "the body must be an object with a non-empty list `claims`")
    unknown = set(body) - {"claims", "max_age_seconds"}
    if unknown:
        raise RequestError(422, f"unknown field(s) {', '.join(shown(k) for k in sorted(unknown)[:5])}")
    claims = body["claims"]
    if len(claims) > limits.max_entities:
        raise RequestError(413, f"{len(claims)} claims in one request; the limit is {limits.max_entities}")
    for i, claim in enumerate(claims):
        if not isinstance(claim, dict) or set(claim) - CLAIM_FIELDS:
            raise RequestError(422, f"claims[{i}] must be an object of {', '.join(sorted(CLAIM_FIELDS))}")
        if claim.get("claim") not in CLAIMS:
            raise RequestError(422, f"claims[{i}].claim must be one of {', '.join(CLAIMS)}")
        value = claim.get("value")
        if claim["claim"] != "in_stock" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise RequestError(422, f"claims[{i}].value must be a number for {claim['claim']}")
        if (claim["claim"] == "pickup_stores_in_region_at_least") != isinstance(claim.get("region"), str):
            raise RequestError(422, f"claims[{i}].region (a string) is required by pickup_stores_in_region_at_least, and only by it")
    return claims, body.get("max_age_seconds")


def check_claims(claims: list[dict], answer: dict) -> list[dict]:
    """Each claim with `holds` and the value, status and as-of time it was judged on (`answer`:
    a read of product_features for the claims' product ids, in the claims' order)."""
    names = answer["metadata"]["feature_names"]
    verdicts = []
    for row, claim in enumerate(claims):
        _, feature, test = CLAIMS[claim["claim"]]
        result = answer["results"][names.index(feature)]
        value, status = result["values"][row], result["statuses"][row]
        holds = status == "PRESENT" and value is not None and bool(test(value, claim))
        verdicts.append({**claim, "holds": holds, "feature": feature, "current_value": value, "status": status,
                         "as_of": None if status == "NOT_FOUND" else result["event_timestamps"][row]})
    return verdicts


def claim_features() -> list[str]:
    return sorted({f"{view}:{feature}" for view, feature, _ in CLAIMS.values()})


# ---- in-process, for Python callers (the same read as the HTTP endpoints)

def _read(settings, body: dict):
    from datetime import datetime, timezone

    from dagster_project.feast_ext.repo import get_feature_store
    from dagster_project.serving.catalog import load_catalog, open_online_store
    from dagster_project.serving.consent import apply_consent
    from dagster_project.serving.read import read_online_features
    from dagster_project.serving.request import Limits, parse_online_request

    store = get_feature_store(settings)
    catalog = load_catalog(store)
    request = parse_online_request(body, catalog, Limits.from_env())
    online_store, now = open_online_store(store), datetime.now(timezone.utc)
    answer = read_online_features(catalog, online_store, store.config, request, now)
    answer = apply_consent(catalog, online_store, store.config, request, answer, now, settings.consent_never_recorded)
    return answer, request, catalog


def get_context(settings, feature_service: str, entities: dict, max_facts: int | None = None,
                max_age_seconds: float | None = None, channel: str | None = None) -> list[dict]:
    """The facts of `feature_service` for each entity row (see build_context); `channel` adds
    each customer's consent for it."""
    body = {"feature_service": feature_service, "entities": entities, "include_age": True,
            **({"max_age_seconds": max_age_seconds} if max_age_seconds else {}),
            **({"channel": channel} if channel else {})}
    answer, request, catalog = _read(settings, body)
    return build_context(answer, request, catalog, max_facts)


def verify_claims(settings, claims: list[dict], max_age_seconds: float | None = None) -> list[dict]:
    """Each claim with `holds` and the current value it was judged on (see check_claims)."""
    from dagster_project.serving.request import Limits

    claims, max_age = parse_claims({"claims": claims, **({"max_age_seconds": max_age_seconds} if max_age_seconds else {})},
                                   Limits.from_env())
    answer, _, _ = _read(settings, claims_read(claims, max_age))
    return check_claims(claims, answer)


def claims_read(claims: list[dict], max_age_seconds: float | None) -> dict:
    """The /get-online-features body that reads what the claims need."""
    return {"features": claim_features(), "entities": {"product_id": [c.get("product_id") for c in claims]},
            **({"max_age_seconds": max_age_seconds} if max_age_seconds is not None else {})}
