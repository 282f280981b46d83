"""No clear-text personal data past the raw layer, in any layer of a built pipeline: the e-mail
addresses, phone numbers, full names, street addresses and IP addresses of the world's landing
files (read from the files themselves) appear nowhere in the warehouse outside `raw` (staging,
intermediate, marts, features, audit), in the published warehouse copy, in any feature Parquet
file, in any Feast feature view's schema, or in any online store value (the SQLite online store
read as bytes). The scanner is shown to find them in the raw layer, so 0 hits means something.

Matching is on word sequences (lower case, `\\w+` tokens): a value is a hit wherever its words
appear in a row's text in a row, and a phone also by its digits alone. Postcodes and first or
last names alone are not scanned for (a 5-digit number or a word like "Braun" collides with
ordinary values); full names, streets with their numbers and the rest are specific enough.
tests/test_pipeline.py keeps the older column-name and "@" checks."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import re
import sqlite3
from pathlib import Path

import duckdb
import pytest

from dagster_project.classification import CLEAR_TEXT_CLASSES, pii_classes, pii_looking

_WORD = re.compile(r"\w+")
# columns of these types cannot hold a clear-text identifier
_SKIPPED_TYPES = ("DOUBLE", "FLOAT", "REAL", "DECIMAL", "DATE", "TIME", "TIMESTAMP", "BOOLEAN", "INTERVAL", "UUID")


def _words(value: str) -> str:
    return " ".join(_WORD.findall(value.lower()))


def _rows(folder: Path):
    """Every record of a landing folder's CSV or JSON-lines files (gzip too)."""
    for path in sorted(folder.glob("*")):
        name = path.name.lower()
        if not name.endswith((".csv", ".csv.gz", ".jsonl", ".jsonl.gz")):
            continue
        raw = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
        text = raw.decode("utf-8", "replace")
        if ".csv" in name:
            yield from csv.DictReader(io.StringIO(text))
        else:
            yield from (json.loads(line) for line in text.splitlines() if line.strip())


def landing_pii(landing: Path) -> dict[str, set[str]]:
    """kind -> the clear-text values of that kind in the landing files, as word sequences."""
    found: dict[str, set[str]] = {k: set() for k in ("email", "phone", "name", "address", "ip")}

    def add(kind: str, value) -> None:
        if not isinstance(value, str):
            return
        words, digits = _words(value), re.sub(r"\D", "", value)
        if len(words.split(" ")) >= (4 if kind == "ip" else 2):
            found[kind].add(words)
        if kind == "phone" and len(digits) >= 8:
            found[kind].add(digits)

    for row in _rows(landing / "crm" / "customers"):
        for column in ("email", "phone", "address"):
            add(column, row.get(column))
        if row.get("first_name") and row.get("last_name"):
            add("name", f"{row['first_name']} {row['last_name']}")
    for row in _rows(landing / "oms" / "orders"):
        add("email", row.get("email")), add("phone", row.get("phone")), add("address", row.get("shipping_address"))
    for row in _rows(landing / "crm" / "support_tickets"):
        add("email", row.get("email"))
    for row in _rows(landing / "web" / "events"):
        traits, context = row.get("traits") or {}, row.get("context") or {}
        add("email", traits.get("email")), add("phone", traits.get("phone")), add("ip", context.get("ip"))
    return found


class Scanner:
    """Finds the needles' word sequences in text values; collects (place, kind, value) hits."""

    def __init__(self, needles: dict[str, set[str]]):
        self.kind = {value: kind for kind, values in needles.items() for value in values}
        self.lengths = sorted({len(v.split(" ")) for v in self.kind})
        self.hits: list[tuple[str, str, str]] = []

    def scan(self, place: str, values) -> None:
        for value in values:
            if value is None:
                continue
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            words = _WORD.findall(text.lower())
            grams = {" ".join(words[i:i + n]) for n in self.lengths for i in range(len(words) - n + 1)}
            grams.add(re.sub(r"\D", "", text))
            for gram in grams & self.kind.keys():
                self.hits.append((place, self.kind[gram], gram))


def _scan_duckdb(scanner: Scanner, con, relation: str, place: str) -> None:
    for name, type_, *_ in con.execute(f"describe select * from {relation}").fetchall():
        if not type_.upper().startswith(_SKIPPED_TYPES):
            values = con.execute(f'select distinct "{name}"::varchar from {relation} where "{name}" is not null').fetchall()
            scanner.scan(f"{place}.{name}", (v for (v,) in values))


def _scan_warehouse(scanner: Scanner, path: Path, label: str) -> list[str]:
    """Every table and view outside `raw`; returns the relations scanned."""
    scanned = []
    with contextlib.closing(duckdb.connect(str(path), read_only=True)) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables "
                             "where table_schema not in ('raw', 'information_schema', 'pg_catalog')").fetchall()
        for schema, table in tables:
            _scan_duckdb(scanner, con, f'"{schema}"."{table}"', f"{label}:{schema}.{table}")
            scanned.append(f"{schema}.{table}")
    return scanned


@pytest.fixture
def needles(pipeline_settings) -> dict[str, set[str]]:
    found = landing_pii(pipeline_settings.landing_dir)
    assert all(len(values) > 20 for values in found.values()), {k: len(v) for k, v in found.items()}
    return found


def test_the_scanner_finds_clear_text_in_the_raw_layer(pipeline_settings, needles):
    scanner = Scanner(needles)
    with contextlib.closing(duckdb.connect(str(pipeline_settings.warehouse_path), read_only=True)) as con:
        for table in ("crm__customers", "oms__orders", "web__events"):
            _scan_duckdb(scanner, con, f"raw.{table}", f"raw.{table}")
    assert {kind for _, kind, _ in scanner.hits} == {"email", "phone", "name", "address", "ip"}


def test_no_clear_text_pii_in_warehouse_layers_or_the_published_copy(pipeline_settings, needles):
    scanner = Scanner(needles)
    scanned = _scan_warehouse(scanner, pipeline_settings.warehouse_path, "warehouse")
    assert {"marts.customers", "marts.orders", "marts.identity_links", "staging.stg_oms__orders"} <= set(scanned)
    published = pipeline_settings.published_warehouse
    if published.exists():
        assert "marts.orders" in _scan_warehouse(scanner, published, "published")
    assert scanner.hits == []


def test_no_clear_text_pii_in_feature_tables(pipeline_settings, needles):
    scanner = Scanner(needles)
    files = sorted(Path(pipeline_settings.features_dir).rglob("*.parquet"))
    assert len(files) >= 10
    with contextlib.closing(duckdb.connect()) as con:
        for path in files:
            _scan_duckdb(scanner, con, f"read_parquet('{path}')", path.name)
    assert scanner.hits == []


def test_no_pii_in_feature_view_schemas(pipeline_settings, needles):
    """Names, descriptions and tags of every registered view say nothing personal, and no
    feature is a column dbt classifies as personal data (`pii: false` columns are fine)."""
    from dagster_project.feast_ext.repo import dbt_manifest, get_feature_store

    store = get_feature_store(pipeline_settings)
    views = [*store.list_feature_views(), *store.list_on_demand_feature_views()]
    scanner = Scanner(needles)
    personal = {}
    manifest = dbt_manifest(pipeline_settings)
    by_model = {n["name"]: n for n in manifest["nodes"].values() if n.get("resource_type") == "model"}
    for view in views:
        texts = [view.name, view.description, *view.tags.values()]
        texts += [t for f in view.features for t in (f.name, f.description)]
        scanner.scan(f"view {view.name}", texts)
        model = by_model.get(view.tags.get("dbt_model", ""))
        for field in view.features:
            classes = pii_classes(((model or {}).get("columns", {}).get(field.name) or {}).get("meta"))
            if classes or (classes is None and pii_looking(field.name)):
                personal[f"{view.name}:{field.name}"] = classes
    assert len(views) >= 15 and scanner.hits == [] and personal == {}


def test_no_clear_text_pii_in_the_online_store(pipeline_settings, needles):
    path = pipeline_settings.feast_dir / "online_store.db"
    assert path.exists()
    scanner = Scanner(needles)
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        tables = [t for (t,) in con.execute("select name from sqlite_master where type = 'table'")]
        rows = 0
        for table in tables:
            for row in con.execute(f'select * from "{table}"'):
                rows += 1
                scanner.scan(table, row)
    assert rows > 1000 and scanner.hits == []


def test_every_pii_looking_warehouse_column_is_classified_in_dbt(pipeline_settings):
    """Columns the models really build (not only the documented ones): a name that looks
    personal has a `meta.pii` in the model's yml."""
    from dagster_project.feast_ext.repo import dbt_manifest

    manifest = dbt_manifest(pipeline_settings)
    documented = {(n["name"], c): pii_classes(s.get("meta")) for n in manifest["nodes"].values()
                  if n.get("resource_type") == "model" for c, s in (n.get("columns") or {}).items()}
    with contextlib.closing(duckdb.connect(str(pipeline_settings.warehouse_path), read_only=True)) as con:
        columns = con.execute("select table_name, column_name from information_schema.columns "
                              "where table_schema not in ('raw', 'information_schema', 'pg_catalog')").fetchall()
    missing = sorted(f"{t}.{c}" for t, c in columns if pii_looking(c) and documented.get((t, c)) is None)
    clear = sorted(f"{t}.{c}" for t, c in columns if set(documented.get((t, c)) or ()) & set(CLEAR_TEXT_CLASSES))
    assert missing == [] and clear == []


def test_no_clear_text_pii_in_the_runs_dagster_history(pipeline, needles):
    """What Dagster keeps of a run (event messages, materialization and check metadata such as
    quarantine previews and failing samples) names no person: forgetting one cannot reach
    Dagster's run history, so nothing personal may be written there."""
    _, result = pipeline
    scanner = Scanner(needles)
    events = list(result.all_events)
    for event in events:
        scanner.scan(f"{event.event_type_value} {event.step_key}", [event.message, repr(event.event_specific_data)])
    kinds = {event.event_type_value for event in events}
    assert len(events) > 500 and {"ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION"} <= kinds
    # the metadata values themselves were scanned (their text is in what was read)
    assert any("quarantine_preview" in repr(e.event_specific_data) and "rows_loaded" in repr(e.event_specific_data)
               for e in events)
    assert scanner.hits == []
