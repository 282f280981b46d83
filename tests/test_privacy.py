"""The right to be forgotten, end to end on real components: a person present in the OMS, the CRM,
web analytics and the PIM (the WMS holds no personal data) is added to a small generated shop,
the pipeline runs once, values are pushed for them and their reads logged, then `rcl forget
--email` removes them. Nothing of them may remain in any table of any schema (working and
published warehouse), any Parquet file, the SQLite and Redis online stores (keys and values) or the
text files kept with the data; the other customers' features stay as they were; a full refresh of
the same landing files does not bring them back (their rows are counted as suppressed)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from conftest import REQUIRE_SERVICES, SCENARIO_DAYS, SERVICE_REDIS_URL, TEST_SCALE, _fingerprint, _redis_available, make_settings

pytestmark = pytest.mark.slow

EMAIL = "Greta.Vergessen@Privacy-Mail.de"
PHONE = "+49 171 5550123"
PERSON = {
    "email": EMAIL, "email_crm": " greta.vergessen@privacy-mail.de", "phone": PHONE, "phone_national": "0171 5550123",
    "first_name": "Gretalind", "last_name": "Vergessenova", "address": "Vergessenweg 77",
    "account": "OCFORGET01", "crm": "CRMFORGET01", "cookie": "f0f0f0f0-0000-4000-8000-0000f0rget01",
    "order": "OFORGET0001", "bad_order": "OFORGET0002", "cart": "ct_forget0001", "ticket": "TKFORGET01",
    "return": "RETFORGET01", "review": "RVFORGET01", "review_body": "Gretalind likes the sound of it",
}
# Clear text and ids that must not be found anywhere once she is forgotten (lower-cased).
CLEAR_TOKENS = ["greta.vergessen@privacy-mail.de", "5550123", "gretalind", "vergessenova", "vergessenweg",
                "ocforget01", "crmforget01", "0000f0rget01", "oforget000", "ct_forget0001", "tkforget01",
                "retforget01", "rvforget01"]


# ---------------------------------------------------------------- the person in every source

def _day_file(folder: Path, position: float) -> Path:
    files = sorted(p for p in folder.iterdir() if p.name[:4].isdigit())
    return files[min(int(len(files) * position), len(files) - 1)]


def _append_csv(path: Path, rows: list[dict]) -> None:
    """Rows appended to a day's file (created with the entity's header when that day has none)."""
    template = path if path.exists() else _day_file(path.parent, 0.0)
    header = template.read_text(encoding="utf-8").splitlines()[0].split(",")
    if not path.exists():
        path.write_text(",".join(header) + "\n", encoding="utf-8")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in header})
    with open(path, "a", encoding="utf-8") as f:
        f.write(buffer.getvalue())


def _append_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def _web_events(day: str, product: str) -> list[dict]:
    context = {"page": {"path": "/", "url": "https://www.voltmarkt.de/", "title": "Voltmarkt"},
               "device": {"type": "desktop"}, "user_agent": "Mozilla/5.0", "ip": "203.0.113.77"}
    base = {"anonymous_id": PERSON["cookie"], "user_id": None, "event": None, "properties": None, "traits": None,
            "context": context, "content_variant_id": None}
    events = [
        {"type": "page", "timestamp": f"{day}T09:00:00Z"},
        {"type": "identify", "timestamp": f"{day}T09:01:00Z", "traits": {"email": EMAIL, "phone": PHONE}},
        {"type": "page", "timestamp": f"{day}T09:02:00Z", "user_id": PERSON["account"]},
        {"type": "track", "event": "Product Viewed", "timestamp": f"{day}T09:03:00Z", "user_id": PERSON["account"],
         "properties": {"product_id": product, "price": 99.0}},
        {"type": "track", "event": "Product Added", "timestamp": f"{day}T09:04:00Z", "user_id": PERSON["account"],
         "properties": {"product_id": product, "price": 99.0, "quantity": 1, "cart_id": PERSON["cart"]}},
        {"type": "track", "event": "Order Completed", "timestamp": f"{day}T09:10:00Z", "user_id": PERSON["account"],
         "properties": {"order_id": PERSON["order"], "revenue": 99.0, "currency": "EUR", "cart_id": PERSON["cart"]}},
    ]
    return [{**base, **e, "message_id": f"forget-{i:02d}-{uuid.UUID(int=i).hex[:8]}"} for i, e in enumerate(events)]


def add_person(landing: Path) -> dict:
    """Her rows, appended to a delivery of a day in the middle of each source's history (a file
    of the right day, so its checks pass); returns the days used."""
    folder = lambda system, entity: landing / system / entity  # noqa: E731
    orders = _day_file(folder("oms", "orders"), 0.6)
    day = orders.name[:10]
    products = _day_file(folder("pim", "products"), 0.0)
    product = json.loads(products.read_text().splitlines()[0])["product_id"]
    order = {"order_id": PERSON["order"], "oms_customer_id": PERSON["account"], "email": EMAIL, "phone": PHONE,
             "channel": "web", "cart_id": PERSON["cart"], "ordered_at": f"{day}T09:10:00Z", "status": "delivered",
             "delivered_at": f"{day}T18:00:00Z", "currency": "EUR", "subtotal_amount": "99.00", "discount_amount": "0.00",
             "shipping_amount": "0.00", "tax_amount": "15.81", "total_amount": "99.00",
             "shipping_address": PERSON["address"], "shipping_postcode": "10115", "shipping_city": "Berlin",
             "shipping_country": "DE"}
    # a second order whose total breaks the contract: quarantined with her clear text in its record
    bad = {**order, "order_id": PERSON["bad_order"], "cart_id": "", "total_amount": "99,00"}
    _append_csv(orders, [order, bad])
    _append_csv(folder("oms", "order_lines") / orders.name, [
        {"order_line_id": f"{PERSON['order']}-1", "order_id": PERSON["order"], "line_number": "1", "product_id": product,
         "quantity": "1", "unit_price": "99.00", "discount_amount": "0.00"}])
    _append_jsonl(folder("web", "events") / f"{day}.jsonl", _web_events(day, product))
    later = _day_file(folder("oms", "returns"), 0.8)
    _append_csv(later, [{"return_id": PERSON["return"], "order_id": PERSON["order"], "order_line_id": f"{PERSON['order']}-1",
                         "product_id": product, "quantity": "1", "reason": "changed_mind",
                         "requested_at": f"{later.name[:10]}T10:00:00Z"}])
    _add_crm_and_review(landing, day, product)
    return {"day": day, "return_day": later.name[:10], "product": product}


def _add_crm_and_review(landing: Path, day: str, product: str) -> None:
    crm = landing / "crm"
    _append_csv(crm / "customers" / f"{day}.csv", [{
        "crm_customer_id": PERSON["crm"], "oms_customer_id": PERSON["account"], "email": PERSON["email_crm"],
        "phone": PERSON["phone_national"], "first_name": PERSON["first_name"], "last_name": PERSON["last_name"],
        "address": PERSON["address"], "postcode": "10115", "city": "Berlin", "country": "DE", "birth_year": "1990",
        "created_at": f"{day}T08:00:00Z", "updated_at": f"{day}T08:00:00Z"}])
    _append_csv(crm / "support_tickets" / f"{day}.csv", [{
        "ticket_id": PERSON["ticket"], "crm_customer_id": PERSON["crm"], "email": EMAIL, "order_id": PERSON["order"],
        "channel": "email", "topic": "delivery", "status": "solved", "priority": "normal", "satisfaction_score": "5",
        "created_at": f"{day}T12:00:00Z", "solved_at": f"{day}T13:00:00Z"}])
    _append_csv(crm / "email_events" / f"{day}.csv", [
        {"email_event_id": f"EEFORGET0{i}", "crm_customer_id": PERSON["crm"], "campaign_id": "CMP-FORGET",
         "event_type": kind, "occurred_at": f"{day}T0{7 + i}:30:00Z"} for i, kind in enumerate(("send", "open"))])
    _append_csv(crm / "marketing_consents" / f"{day}.csv", [{
        "consent_event_id": "MCFORGET01", "crm_customer_id": PERSON["crm"], "channel": "email", "is_granted": "true",
        "source": "checkout", "recorded_at": f"{day}T09:10:00Z"}])
    _append_jsonl(landing / "pim" / "reviews" / f"{day}.jsonl", [{
        "review_id": PERSON["review"], "product_id": product, "oms_customer_id": PERSON["account"], "rating": 4,
        "title": "Fine", "body": PERSON["review_body"], "is_verified_purchase": True,
        "submitted_at": f"{day}T15:00:00Z"}])


# ---------------------------------------------------------------- the world, her forgetting, a refresh

SCALE = min(TEST_SCALE, 0.15)
REDIS_PROBLEM = _redis_available(SERVICE_REDIS_URL)


def _warehouse(settings, path: Path | None = None):
    return duckdb.connect(str(path or settings.warehouse_path), read_only=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The shop with her in every source that holds people, built by one pipeline run."""
    from dagster_project.pipeline import run_pipeline
    from dagster_project.sample_data.generator import generate

    data_dir = tmp_path_factory.mktemp("forget_world")
    generate(data_dir / "landing", scale=SCALE, seed=23, end_date=date(2026, 10, 31), days=SCENARIO_DAYS)
    days = add_person(data_dir / "landing")
    settings = make_settings(data_dir)
    result = run_pipeline(settings, log_level="WARNING")
    assert result.success, "the world's pipeline run failed"
    return settings, days


def _her_ids(settings) -> dict[str, set[str]]:
    with _warehouse(settings) as conn:
        customer_ids = {r[0] for r in conn.execute(
            "select customer_id from intermediate.int_customer_id_registry where identifier_type = 'oms_customer_id' "
            "and identifier_value = ?", [PERSON["account"]]).fetchall()}
        rows = conn.execute("select identifier_type, identifier_value from intermediate.int_customer_id_registry "
                            "where customer_id in (select unnest(?::varchar[]))", [sorted(customer_ids)]).fetchall()
    ids = {"customer_id": customer_ids}
    for kind, value in rows:
        ids.setdefault(kind, set()).add(value)
    return ids


def _feature_frames(settings, exclude: dict[str, set[str]]) -> dict[str, pd.DataFrame]:
    """Every feature table without her rows, sorted (the other customers' and products' features)."""
    frames = {}
    for path in sorted(settings.features_dir.glob("*.parquet")):
        frame = pd.read_parquet(path)
        for column, values in exclude.items():
            if column in frame.columns:
                frame = frame[~frame[column].isin(values)]
        frames[path.stem] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return frames


def _push_her_values(settings, her: dict) -> None:
    """Pushed values (cart and order status) for her, newer than the batch ones."""
    from dagster_project.feast_ext.repo import get_feature_store

    store = get_feature_store(settings)
    for source, table, key, values in (("cart_features_push", "cart_features", "customer_id", her["customer_id"]),
                                       ("order_status_push", "order_status", "order_id", {PERSON["order"]})):
        frame = pd.read_parquet(settings.features_dir / f"{table}.parquet")
        frame = frame[frame[key].isin(values)].tail(1).copy()
        assert len(frame), f"no {table} row of hers to push"
        frame["event_timestamp"] = pd.Timestamp(datetime.now(timezone.utc))
        frame = frame[[key, "event_timestamp", *(f.name for f in store.get_feature_view(table).features)]]
        store.push(source, frame)


def _log_reads(settings, her: dict, other: str) -> None:
    from dagster_project.serving.served_log import ServedContextLog

    log = ServedContextLog(settings.data_dir / "served_context")
    her_id = sorted(her["customer_id"])[0]
    for ids in ([her_id, other], [her_id]):
        response = {"metadata": {"feature_names": ["customer_id", "orders_lifetime"]},
                    "results": [{"values": ids}, {"values": [1] * len(ids), "statuses": ["PRESENT"] * len(ids),
                                                  "event_timestamps": ["2026-10-01T00:00:00Z"] * len(ids)}]}
        log.record(uuid.uuid4().hex, "customer_v1", ["customer_features:orders_lifetime"], {"customer_id": ids},
                   response, datetime.now(timezone.utc))
    log.flush()


def _redis_settings(settings, feast_dir: Path | None = None):
    project = f"forget_{uuid.uuid4().hex[:8]}"
    overrides = dict(online_store="redis", redis_url=SERVICE_REDIS_URL, feast_project=project)
    return make_settings(settings.data_dir, **overrides, **({"feast_dir": feast_dir} if feast_dir else {}))


def _publish_to_redis(settings, tmp_path: Path):
    """Every view published to a Redis key space of the test's own (its registry in its own folder)."""
    from dagster_project.feast_ext.feature_tables import FEATURE_VIEWS
    from dagster_project.feast_ext.publish import materialize_view
    from dagster_project.feast_ext.repo import apply_feature_repo

    redis_settings = _redis_settings(settings, tmp_path / "feast_redis")
    apply_feature_repo(redis_settings)
    for view in FEATURE_VIEWS:
        materialize_view(redis_settings, view)
    return redis_settings


@pytest.fixture(scope="module")
def forgotten(world, tmp_path_factory):
    """Values pushed and reads logged for her, then `rcl forget --email` (timed); returns what the
    tests compare: her ids before, the features before, the CLI's output and the Redis settings."""
    from dagster_project.cli import main

    settings, days = world
    her = _her_ids(settings)
    with _warehouse(settings) as conn:
        her["order_id"] = {r[0] for r in conn.execute(
            "select order_id from marts.orders where customer_id in (select unnest(?::varchar[]))",
            [sorted(her["customer_id"])]).fetchall()}
        other = conn.execute("select customer_id from marts.customers where customer_id not in "
                             "(select unnest(?::varchar[])) order by customer_id limit 1",
                             [sorted(her["customer_id"])]).fetchone()[0]
    exclude = {"customer_id": her["customer_id"], "order_id": her["order_id"]}
    before = _feature_frames(settings, exclude)
    _push_her_values(settings, her)
    _log_reads(settings, her, other)
    redis_settings = None
    if REDIS_PROBLEM is None:
        redis_settings = _publish_to_redis(settings, tmp_path_factory.mktemp("redis_feast"))
        _push_her_values(redis_settings, her)
    run_as = redis_settings or settings
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**run_as.env(), "RCL_FEAST_DIR": str(settings.feast_dir)}.items():
            patch.setenv(name, value)
        started = time.perf_counter()
        code = main(["forget", "--email", EMAIL, "--data-dir", str(settings.data_dir), "--request-id", "DPO-TEST-1"]
                    + (["--online-store", "redis"] if redis_settings else []))
        seconds = time.perf_counter() - started
    print(f"rcl forget took {seconds:.1f}s")
    yield dict(settings=settings, her=her, before=before, exclude=exclude, code=code, seconds=seconds,
               redis_settings=redis_settings, days=days)
    if redis_settings is not None:
        _drop_redis_project(redis_settings)


def _drop_redis_project(redis_settings) -> None:
    """The test's own key space, gone once the module is done (a shared Redis)."""
    import redis

    client = redis.Redis.from_url(redis_settings.redis_url)
    try:
        project = redis_settings.feast_project
        keys = [k for k in client.scan_iter(count=1000) if project.encode() in k]
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start:start + 1000])
    finally:
        client.close()


# ---------------------------------------------------------------- scanning everything for her

def _tokens(her: dict) -> list[str]:
    """Everything that would identify her, lower-cased: clear text, ids, hashes, customer ids."""
    found = set(CLEAR_TOKENS)
    for values in her.values():
        found |= {v.lower() for v in values}
    return sorted(found)


def _duckdb_hits(path: Path, tokens: list[str]) -> dict[str, int]:
    """Every table and view of every schema, every column as text, searched for every token."""
    hits = {}
    with duckdb.connect(str(path), read_only=True) as conn:
        relations = conn.execute("select table_schema, table_name from information_schema.tables "
                                 "where table_catalog = current_database()").fetchall()
        for schema, table in relations:
            try:
                rows = conn.execute(f'select lower(r::varchar) from "{schema}"."{table}" as r').fetchall()
            except duckdb.Error:  # a view over a file that moved (a published copy's features views)
                continue
            text = "\n".join(r[0] for r in rows)
            found = [t for t in tokens if t in text]
            if found:
                hits[f"{schema}.{table}"] = found
    return hits


def _kept_apart(settings, path: Path) -> bool:
    """The landing files (the sources' deliveries: suppressed at ingestion, never rewritten) and
    the privacy records (the suppression list holds her salted hashes by design: checked on
    their own in test_the_audit_log_holds_no_identifier)."""
    return settings.landing_dir in path.parents or settings.data_dir / "privacy" in path.parents


def _parquet_hits(settings, tokens: list[str]) -> dict[str, list[str]]:
    hits = {}
    for path in sorted(settings.data_dir.rglob("*.parquet")):
        if _kept_apart(settings, path):
            continue
        with duckdb.connect() as conn:
            rows = conn.execute(f"select lower(r::varchar) from read_parquet('{path}') as r").fetchall()
        text = "\n".join(r[0] for r in rows)
        found = [t for t in tokens if t in text]
        if found:
            hits[str(path.relative_to(settings.data_dir))] = found
    return hits


def _file_bytes_hits(settings, tokens: list[str]) -> dict[str, list[str]]:
    """Files that are neither DuckDB nor Parquet (compressed: scanned above through SQL), as bytes:
    the SQLite online store (deleted rows must not linger in free pages), logs, reports."""
    hits = {}
    for path in sorted(settings.data_dir.rglob("*")):
        if not path.is_file() or _kept_apart(settings, path) or path.suffix in (".parquet", ".duckdb") \
                or path.name.endswith(".duckdb.wal"):
            continue
        data = path.read_bytes().lower()
        found = [t for t in tokens if t.encode() in data]
        if found:
            hits[str(path.relative_to(settings.data_dir))] = found
    return hits


def _redis_hits(redis_settings, tokens: list[str]) -> dict[str, list[str]]:
    import redis

    client = redis.Redis.from_url(redis_settings.redis_url)
    hits = {}
    try:
        for key in client.scan_iter(count=1000):
            if not (key.endswith(redis_settings.feast_project.encode()) or redis_settings.feast_project.encode() in key):
                continue
            blob = key + b"".join(client.smembers(key) if client.type(key) == b"set" else
                                  [k + v for k, v in client.hgetall(key).items()])
            found = [t for t in tokens if t.encode() in blob.lower()]
            if found:
                hits[repr(key[:60])] = found
    finally:
        client.close()
    return hits


def _nothing_of_her_anywhere(settings, her: dict) -> None:
    tokens = _tokens(her)
    databases = [settings.warehouse_path, *sorted((settings.data_dir / "published").glob("warehouse-*.duckdb"))]
    for path in databases:
        assert not _duckdb_hits(path, tokens), path.name
    assert not _parquet_hits(settings, tokens)
    assert not _file_bytes_hits(settings, tokens)


# ---------------------------------------------------------------- before: she was everywhere

def test_she_is_in_every_layer_before_she_is_forgotten(world):
    settings, _ = world
    her = _her_ids(settings)
    assert len(her["customer_id"]) == 1
    assert {"oms_customer_id", "crm_customer_id", "anonymous_id", "email_hash", "phone_hash"} <= set(her)
    tokens = _tokens(her)
    hits = _duckdb_hits(settings.warehouse_path, tokens)
    for table in ("raw.oms__orders", "raw.oms__orders__quarantine", "raw.web__events", "raw.crm__customers",
                  "raw.pim__reviews", "staging.stg_web__events", "intermediate.int_customer_id_registry",
                  "marts.customers", "marts.identity_links", "marts.orders", "marts.support_tickets"):
        assert table in hits, table
    assert "features/customer_features.parquet" in _parquet_hits(settings, tokens)


def test_the_hashes_match_dbts_on_every_raw_email_and_phone(world):
    """privacy/identifiers.py writes dbt's hash_pii macros again: both agree on every row."""
    from dagster_project.privacy.identifiers import email_hash_sql, phone_hash_sql

    settings, _ = world
    with _warehouse(settings) as conn:
        for raw, staging in (("raw.crm__customers", "staging.stg_crm__customers"),
                             ("raw.oms__orders", "staging.stg_oms__orders")):
            differing, compared = conn.execute(
                f"select count(*) filter (where {email_hash_sql('r.email', settings)} is distinct from s.email_hash "
                f"or {phone_hash_sql('r.phone', settings)} is distinct from s.phone_hash), count(*) "
                f"from {raw} r join {staging} s using (_source_file, _source_line)").fetchone()
            assert compared > 100 and differing == 0, (raw, differing)


# ---------------------------------------------------------------- after `rcl forget --email`

def test_forget_succeeds_and_is_verified(forgotten):
    assert forgotten["code"] == 0
    settings = forgotten["settings"]
    entry = json.loads((settings.data_dir / "privacy" / "deletions.jsonl").read_text().splitlines()[-1])
    assert entry["request_id"] == "DPO-TEST-1" and entry["outcome"] == "deleted" and entry["verified"]
    assert entry["customers"] == 1
    for layer in ("warehouse", "published_warehouse", "parquet_files", "online_store_sqlite"):
        assert entry["rows_per_layer"][layer] > 0, layer
    assert entry["layers"]["warehouse"]["raw.oms__orders__quarantine"] == 1
    if forgotten["redis_settings"] is not None:
        assert entry["rows_per_layer"]["online_store_redis"] > 0


def test_nothing_of_her_remains_in_any_table_file_or_sqlite_store(forgotten):
    _nothing_of_her_anywhere(forgotten["settings"], forgotten["her"])


def test_nothing_of_her_remains_in_redis(forgotten):
    if forgotten["redis_settings"] is None:
        if REQUIRE_SERVICES:
            pytest.fail(f"{REDIS_PROBLEM}; REQUIRE_SERVICES=1 makes it mandatory")
        pytest.skip(REDIS_PROBLEM)
    redis_settings = forgotten["redis_settings"]
    assert not _redis_hits(redis_settings, _tokens(forgotten["her"]))
    from dagster_project.feast_ext.repo import get_feature_store

    store = get_feature_store(_redis_settings_for_reading(forgotten))
    others = store.get_online_features(features=["customer_features:orders_lifetime"],
                                       entity_rows=[{"customer_id": c} for c in _some_other_customers(forgotten)]).to_dict()
    assert any(v is not None for v in others["orders_lifetime"]), "the other customers' values must stay online"


def _redis_settings_for_reading(forgotten):
    settings, redis_settings = forgotten["settings"], forgotten["redis_settings"]
    feast_dir = Path(redis_settings.feast_dir)
    return make_settings(settings.data_dir, online_store="redis", redis_url=redis_settings.redis_url,
                         feast_project=redis_settings.feast_project, feast_dir=feast_dir)


def _some_other_customers(forgotten) -> list[str]:
    frame = forgotten["before"]["customer_features"]
    return sorted(frame["customer_id"].unique())[:5]


def test_the_served_context_log_keeps_the_other_customers_reads(forgotten):
    settings = forgotten["settings"]
    with duckdb.connect() as conn:
        rows = conn.execute(f"select entities, \"values\" from read_parquet('{settings.data_dir}/served_context/*.parquet')").fetchall()
    assert len(rows) == 1, "the read of her alone is gone, the read of her and another customer stays"
    entities, values = (json.loads(v) for v in rows[0])
    assert len(entities["customer_id"]) == 1 and entities["customer_id"][0] not in forgotten["her"]["customer_id"]
    assert values == {"orders_lifetime": [1]}


def test_the_other_customers_features_are_unchanged(forgotten):
    after = _feature_frames(forgotten["settings"], forgotten["exclude"])
    assert after.keys() == forgotten["before"].keys()
    for name, frame in forgotten["before"].items():
        pd.testing.assert_frame_equal(after[name], frame, check_dtype=False, obj=name)


def test_the_audit_log_holds_no_identifier(forgotten):
    settings = forgotten["settings"]
    text = (settings.data_dir / "privacy" / "deletions.jsonl").read_text().lower()
    assert not [t for t in _tokens(forgotten["her"]) if t in text]
    suppression = pd.read_parquet(settings.data_dir / "privacy" / "suppression.parquet")
    assert set(suppression["request_id"]) == {"DPO-TEST-1"}
    listed = " ".join(suppression.astype(str).to_numpy().ravel()).lower()
    assert not [t for t in CLEAR_TOKENS if t in listed], "the suppression list holds hashes only"
    assert set(forgotten["her"]["email_hash"]) <= set(suppression["identifier_hash"])


def test_forgetting_her_again_is_harmless(forgotten, capsys):
    from dagster_project.cli import main

    settings = forgotten["settings"]
    before = _fingerprint(settings.data_dir / "work")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings.env().items():
            patch.setenv(name, value)
        assert main(["forget", "--email", EMAIL.upper(), "--data-dir", str(settings.data_dir)]) == 0
    assert "already forgotten" in capsys.readouterr().out
    assert _fingerprint(settings.data_dir / "work") == before
    last = json.loads((settings.data_dir / "privacy" / "deletions.jsonl").read_text().splitlines()[-1])
    assert last["outcome"] == "already_forgotten"


def test_an_unknown_identifier_changes_nothing(forgotten, capsys):
    from dagster_project.cli import main

    settings = forgotten["settings"]
    before = _fingerprint(settings.data_dir)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings.env().items():
            patch.setenv(name, value)
        code = main(["forget", "--crm-id", "CRM-NOBODY-404", "--data-dir", str(settings.data_dir)])
    assert code != 0
    assert "unknown identifier, nothing changed" in capsys.readouterr().err
    assert _fingerprint(settings.data_dir) == before


# ---------------------------------------------------------------- a full refresh of the same files

@pytest.fixture(scope="module")
def refreshed(forgotten):
    """The whole pipeline again over the same landing files (hers still in them)."""
    from dagster_project.pipeline import run_pipeline

    result = run_pipeline(forgotten["settings"], log_level="WARNING")
    assert result.success
    return forgotten


def test_a_full_refresh_does_not_bring_her_back(refreshed):
    _nothing_of_her_anywhere(refreshed["settings"], refreshed["her"])


def test_her_rows_are_counted_as_suppressed_at_ingestion(refreshed):
    from dagster_project.contracts import CONTRACTS

    settings = refreshed["settings"]
    suppressed = {}
    with _warehouse(settings) as conn:
        for contract in CONTRACTS:
            rows = conn.execute(f"select sum(rows_suppressed), bool_and(is_reconciled), "
                                f"bool_and(rows_read = rows_loaded + rows_quarantined + duplicates_removed + rows_suppressed) "
                                f"from {contract.reconciliation_table}").fetchone()
            assert rows[1] and rows[2], contract.name
            if rows[0]:
                suppressed[contract.name] = rows[0]
    assert suppressed == {"web__events": 6, "oms__orders": 2, "oms__order_lines": 1, "oms__returns": 1,
                          "crm__customers": 1, "crm__support_tickets": 1, "crm__email_events": 2,
                          "crm__marketing_consents": 1, "pim__reviews": 1}


def test_the_other_customers_features_are_the_same_after_the_refresh(refreshed):
    after = _feature_frames(refreshed["settings"], refreshed["exclude"])
    for name, frame in refreshed["before"].items():
        if "customer_id" in frame.columns:
            pd.testing.assert_frame_equal(after[name], frame, check_dtype=False, obj=name)


# ---------------------------------------------------------------- the same request as a Dagster job

def test_the_forget_person_job_forgets_another_customer(refreshed):
    """Run last: it forgets a second customer (by customer id, as the job is meant to be run)."""
    from dagster_project.defs.privacy import forget_person_job
    from dagster_project.defs.resources import RclSettings

    settings = refreshed["settings"]
    with _warehouse(settings) as conn:
        customer = conn.execute("select customer_id from marts.customers order by lifetime_revenue desc, customer_id "
                                "limit 1").fetchone()[0]
    resources = {"rcl_settings": RclSettings.from_settings(settings)}
    config = {"ops": {"forget_request": {"config": {"identifier_kind": "customer_id", "identifier": customer,
                                                    "request_id": "DPO-TEST-2"}}}}
    result = forget_person_job.execute_in_process(run_config=config, resources=resources)
    assert result.success
    with _warehouse(settings) as conn:
        assert not conn.execute("select count(*) from marts.customers where customer_id = ?", [customer]).fetchone()[0]
    assert not _parquet_hits(settings, [customer.lower()])
    entry = json.loads((settings.data_dir / "privacy" / "deletions.jsonl").read_text().splitlines()[-1])
    assert entry["request_id"] == "DPO-TEST-2" and entry["verified"]
    again = {"ops": {"forget_request": {"config": {"identifier_kind": "customer_id", "identifier": customer}}}}
    assert forget_person_job.execute_in_process(run_config=again, resources=resources).success
    entry = json.loads((settings.data_dir / "privacy" / "deletions.jsonl").read_text().splitlines()[-1])
    assert entry["outcome"] == "already_forgotten"
    unknown = {"ops": {"forget_request": {"config": {"identifier_kind": "customer_id", "identifier": "cus_nobody"}}}}
    failed = forget_person_job.execute_in_process(run_config=unknown, resources=resources, raise_on_error=False)
    assert not failed.success, "an unknown customer id: the run fails, nothing changes"
