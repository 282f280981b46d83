"""A corpus of bad landing files across the five sources. Each kind either fails the entity with
a clear ContractViolation (naming the file and the column or delimiter) or lands the good rows,
quarantines the bad ones with file, physical line and reason, and reconciles per file:
rows read = loaded + quarantined + duplicates removed. Files that are not deliveries are never
read and are listed; a file that cannot be what its name says has all its rows quarantined.

The files are generated from the contracts (one valid row per contract, then broken on purpose),
so the corpus stays in step with contracts.py."""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

import duckdb
import pytest

from dagster_project.contracts import SourceEntity, get_contract
from dagster_project.ingestion import ContractViolation, ingest_entity
from conftest import duck

pytestmark = pytest.mark.heavy  # tens of seconds in all: run early in its tier (tests/conftest.py)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)  # the runs' injected 'now'


def good_row(contract: SourceEntity, i: int) -> dict:
    """A row that satisfies the contract; `i` makes the primary key (and content) unique."""
    row = {}
    for c in contract.columns:
        if c.accepted_values:
            v = c.accepted_values[i % len(c.accepted_values)]
        elif c.type == "VARCHAR":
            v = f"{c.name}-{i}"
        elif c.type == "INTEGER":
            v = int(c.min_value) if c.min_value is not None else 1 + i
        elif c.type.startswith("DECIMAL"):
            v = f"{10 + i}.50"
        elif c.type == "DOUBLE":
            v = 1.5
        elif c.type == "BOOLEAN":
            v = True
        elif c.type == "DATE":
            v = "2026-02-01"
        elif c.type == "TIMESTAMP":
            v = f"2026-02-01T10:{i % 60:02d}:00Z"
        elif c.type == "JSON":
            v = {"kind": "x", "size": 1, "flag": True}
        else:  # pragma: no cover - a new type needs a value here
            raise AssertionError(c.type)
        row[c.name] = v
    if contract.name == "wms__inventory_snapshots":
        row["snapshot_date"] = "2026-02-01"
        row["product_id"] = f"P{i}"
    return row


def csv_text(contract: SourceEntity, rows: list[dict], header: list[str] | None = None, delimiter: str = ",") -> str:
    header = header or [c.name for c in contract.columns]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_value(row.get(h)) for h in header])
    return out.getvalue()


def _csv_value(v):
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, dict):
        return json.dumps(v)
    return "" if v is None else v


def jsonl_text(rows: list) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


@dataclass
class Case:
    system: str
    entity: str
    files: dict[str, bytes]  # file name -> content
    error: tuple[str, ...] = ()  # substrings of the ContractViolation (the file name is checked too)
    loaded: int | None = None
    quarantined: dict[int, str] = field(default_factory=dict)  # line -> reason substring (first file)
    duplicates: int = 0
    warning: str | None = None
    # files in the folder that are not deliveries: never read, listed in result.ignored_files
    other_files: dict[str, bytes] = field(default_factory=dict)
    # substring of the reason the (first) file was rejected for as a whole
    rejected: str | None = None


def _c(system, entity):
    return get_contract(system, entity)


def rows(system, entity, n=3, start=0):
    return [good_row(_c(system, entity), i) for i in range(start, start + n)]


def _case_truncated_csv():
    text = csv_text(_c("oms", "order_lines"), rows("oms", "order_lines"))
    return Case("oms", "order_lines", {"2026-02-01.csv": text[: text.rindex(",") - 3].encode()},
                loaded=2, quarantined={4: "unparseable CSV line"})


def _case_truncated_jsonl():
    text = jsonl_text(rows("web", "events"))
    return Case("web", "events", {"2026-02-01.jsonl": text[:-40].encode()},
                loaded=2, quarantined={3: "line is not a JSON object"})


def _case_semicolon_delimiter():
    contract = _c("crm", "email_events")
    return Case("crm", "email_events",
                {"2026-02-01.csv": csv_text(contract, rows("crm", "email_events"), delimiter=";").encode()},
                error=("looks ';'-separated", "comma-separated"))


def _case_tab_delimiter():
    contract = _c("wms", "locations")
    return Case("wms", "locations",
                {"2026-02-01.csv": csv_text(contract, rows("wms", "locations"), delimiter="\t").encode()},
                error=("looks tab-separated",))


def _case_bom_csv():
    text = csv_text(_c("oms", "orders"), rows("oms", "orders"))
    return Case("oms", "orders", {"2026-02-01.csv": b"\xef\xbb\xbf" + text.encode()}, loaded=3)


def _case_bom_jsonl():
    return Case("pim", "reviews", {"2026-02-01.jsonl": b"\xef\xbb\xbf" + jsonl_text(rows("pim", "reviews")).encode()},
                loaded=3)


def _case_non_utf8_csv():
    r = rows("crm", "customers")
    r[1]["city"] = "M\u00fcnchen"
    data = csv_text(_c("crm", "customers"), r).encode().replace("M\u00fcnchen".encode(), "M\u00fcnchen".encode("latin-1"))
    return Case("crm", "customers", {"2026-02-01.csv": data}, loaded=2, quarantined={3: "not valid UTF-8"})


def _case_non_utf8_jsonl():
    r = rows("web", "events")
    lines = jsonl_text(r).encode().split(b"\n")
    lines[0] = lines[0].replace(b'"anonymous_id-0"', b'"anon\xff\xfe-0"')
    return Case("web", "events", {"2026-02-01.jsonl": b"\n".join(lines)}, loaded=2, quarantined={1: "not valid UTF-8"})


def _case_empty_file():
    return Case("wms", "inbound_shipments", {"2026-02-01.csv": b""}, loaded=0, warning="empty file")


def _case_header_only():
    return Case("oms", "returns", {"2026-02-01.csv": csv_text(_c("oms", "returns"), []).encode()}, loaded=0)


def _case_extra_csv_column():
    contract = _c("oms", "order_lines")
    r = rows("oms", "order_lines")
    for row in r:
        row["gift_wrap"] = "yes"
    header = [c.name for c in contract.columns] + ["gift_wrap"]
    return Case("oms", "order_lines", {"2026-02-01.csv": csv_text(contract, r, header=header).encode()},
                loaded=3, warning="gift_wrap")


def _case_extra_jsonl_key():
    r = rows("pim", "reviews")
    r[0]["helpful_votes"] = 7
    return Case("pim", "reviews", {"2026-02-01.jsonl": jsonl_text(r).encode()}, loaded=3, warning="helpful_votes")


def _case_missing_required_column():
    contract = _c("crm", "support_tickets")
    header = [c.name for c in contract.columns if c.name != "topic"]
    return Case("crm", "support_tickets",
                {"2026-02-01.csv": csv_text(contract, rows("crm", "support_tickets"), header=header).encode()},
                error=("required column(s) topic missing",))


def _case_string_in_numeric():
    r = rows("wms", "inventory_snapshots")
    r[2]["on_hand"] = "many"
    return Case("wms", "inventory_snapshots",
                {"2026-02-01.csv": csv_text(_c("wms", "inventory_snapshots"), r).encode()},
                loaded=2, quarantined={4: "on_hand: many is not a valid INTEGER"})


def _case_changed_type():
    r = rows("pim", "reviews", n=25)
    for row in r:
        row["rating"] = "five stars"
    return Case("pim", "reviews", {"2026-02-01.jsonl": jsonl_text(r).encode()},
                error=("column rating looks like it changed type", "25 of 25", "'five stars'"))


def _case_null_keys():
    r = rows("oms", "orders")
    r[0]["order_id"] = ""
    return Case("oms", "orders", {"2026-02-01.csv": csv_text(_c("oms", "orders"), r).encode()},
                loaded=2, quarantined={2: "missing required order_id"})


def _case_duplicate_keys():
    r = rows("crm", "email_events")
    r[2]["email_event_id"] = r[0]["email_event_id"]
    return Case("crm", "email_events", {"2026-02-01.csv": csv_text(_c("crm", "email_events"), r).encode()},
                loaded=2, quarantined={4: "duplicate key email_event_id email_event_id-0 with different content (first at line 2)"})


def _case_duplicate_keys_in_snapshot():
    r = rows("wms", "locations")
    r[1]["location_id"] = r[0]["location_id"]
    return Case("wms", "locations", {"2026-02-01.csv": csv_text(_c("wms", "locations"), r).encode()},
                loaded=2, quarantined={3: "duplicate key location_id"})


def _case_exact_duplicate_rows():
    r = rows("web", "events")
    r.insert(1, r[0])  # a client retry: the same event delivered twice
    return Case("web", "events", {"2026-02-01.jsonl": jsonl_text(r).encode()}, loaded=3, duplicates=1)


def _case_exact_duplicate_across_files():
    r = rows("crm", "marketing_consents")
    contract = _c("crm", "marketing_consents")
    return Case("crm", "marketing_consents",
                {"2026-02-01.csv": csv_text(contract, r).encode(), "2026-02-02.csv": csv_text(contract, r[:1]).encode()},
                loaded=3, duplicates=1)


def _case_negative_quantity():
    r = rows("wms", "inbound_shipments")
    r[0]["quantity"] = -5
    return Case("wms", "inbound_shipments", {"2026-02-01.csv": csv_text(_c("wms", "inbound_shipments"), r).encode()},
                loaded=2, quarantined={2: "quantity: -5 is below 1"})


def _case_price_with_currency_symbol():
    r = rows("pim", "products")
    r[1]["price"] = "€19.99"
    return Case("pim", "products", {"2026-02-01.jsonl": jsonl_text(r).encode()},
                loaded=2, quarantined={2: "price: €19.99 is not a valid DECIMAL(12,2)"})


def _case_unknown_currency():
    r = rows("oms", "orders")
    r[1]["currency"] = "XBT"
    return Case("oms", "orders", {"2026-02-01.csv": csv_text(_c("oms", "orders"), r).encode()},
                loaded=2, quarantined={3: "currency: XBT is not an accepted value"})


def _case_naive_timestamp():
    r = rows("crm", "support_tickets")
    r[0]["created_at"] = "2026-02-01 10:00:00"
    return Case("crm", "support_tickets", {"2026-02-01.csv": csv_text(_c("crm", "support_tickets"), r).encode()},
                loaded=2, quarantined={2: "is not an ISO 8601 timestamp with offset"})


def _case_future_timestamp():
    r = rows("web", "events")
    r[2]["timestamp"] = "2026-03-05T10:00:00Z"  # four days after the run's now
    return Case("web", "events", {"2026-02-01.jsonl": jsonl_text(r).encode()},
                loaded=2, quarantined={3: "timestamp: 2026-03-05T10:00:00Z is in the future"})


def _case_broken_json_object():
    r = rows("pim", "reviews")
    r[1] = '{"review_id": "review_id-1", "rating": 4,'
    return Case("pim", "reviews", {"2026-02-01.jsonl": jsonl_text(r).encode()},
                loaded=2, quarantined={2: "line is not a JSON object"})


def _case_nested_specs_wrong_shape():
    r = rows("pim", "products", n=4)
    r[1]["specs"] = {"dimensions": {"w": 10, "h": 20}}  # nested object
    r[2]["specs"] = ["bluetooth", "anc"]  # a list instead of an object
    r[3]["specs"] = {"colors": ["black", "white"]}  # a list value
    return Case("pim", "products", {"2026-02-01.jsonl": jsonl_text(r).encode()}, loaded=1,
                quarantined={2: "specs: values must be numbers, strings or booleans, not OBJECT",
                             3: "specs: not a JSON object",
                             4: "specs: values must be numbers, strings or booleans, not ARRAY"})


def _case_wrong_json_type_for_nested_column():
    r = rows("web", "events")
    r[0]["context"] = "mobile"
    return Case("web", "events", {"2026-02-01.jsonl": jsonl_text(r).encode()},
                loaded=2, quarantined={1: "context: not a JSON object"})


# ---------------------------------------------------------------- values that are not exactly one value of their type

def _case_impossible_calendar_date():
    r = rows("oms", "orders")
    r[1]["ordered_at"] = "2026-02-30T10:00:00Z"  # DuckDB's try_cast gives NULL: never load it as a null
    return Case("oms", "orders", {"2026-02-01.csv": csv_text(_c("oms", "orders"), r).encode()},
                loaded=2, quarantined={3: "ordered_at: 2026-02-30T10:00:00Z is not a real calendar date"})


def _case_impossible_times_of_day():
    r = rows("wms", "inbound_shipments", n=5)
    r[0]["announced_at"] = "2026-02-01T25:00:00Z"
    r[1]["announced_at"] = "2026-02-01T24:00:00Z"  # DuckDB would shift it to the next day
    r[2]["announced_at"] = "2026-02-01T10:60:00Z"
    r[3]["expected_at"] = "2026-02-01T23:59:60Z"  # a leap second: not representable, quarantined
    return Case("wms", "inbound_shipments", {"2026-02-01.csv": csv_text(_c("wms", "inbound_shipments"), r).encode()},
                loaded=1, quarantined={2: "is not a real time of day", 3: "is not a real time of day",
                                       4: "is not a real time of day", 5: "expected_at: 2026-02-01T23:59:60Z is not a real time of day"})


def _case_out_of_range_offsets():
    r = rows("web", "events", n=4)
    r[0]["timestamp"] = "2026-02-01T10:00:00+15:00"  # DuckDB would shift by 15 hours
    r[1]["timestamp"] = "2026-02-01T10:00:00+01:75"
    r[2]["timestamp"] = "2026-02-01T10:00:00-1400"  # the widest real offsets load
    return Case("web", "events", {"2026-02-01.jsonl": jsonl_text(r).encode()},
                loaded=2, quarantined={1: "timestamp: 2026-02-01T10:00:00+15:00 has an impossible UTC offset",
                                       2: "has an impossible UTC offset"})


def _case_fractional_values_in_integer_columns():
    r = rows("wms", "inventory_snapshots", n=4)
    r[0]["on_hand"] = "1.5"  # DuckDB's cast rounds it to 2
    r[1]["reserved"] = "1.0"  # integral, but written by a float: the contract wants whole numbers
    r[2]["on_hand"] = "1e3"
    return Case("wms", "inventory_snapshots",
                {"2026-02-01.csv": csv_text(_c("wms", "inventory_snapshots"), r).encode()},
                loaded=1, quarantined={2: "on_hand: 1.5 is not a valid INTEGER", 3: "reserved: 1.0 is not a valid INTEGER",
                                       4: "on_hand: 1e3 is not a valid INTEGER"})


def _case_fractional_json_number_in_integer_column():
    r = rows("pim", "reviews")
    r[2]["rating"] = 4.5
    return Case("pim", "reviews", {"2026-02-01.jsonl": jsonl_text(r).encode()},
                loaded=2, quarantined={3: "rating: 4.5 is not a valid INTEGER"})


def _case_money_with_more_decimals_than_the_column():
    r = rows("oms", "order_lines", n=4)
    r[0]["unit_price"] = "12.345"  # DECIMAL(12,2) would round it to 12.35
    r[1]["discount_amount"] = "0.001"
    r[2]["unit_price"] = "12.340"  # trailing zeros change nothing: loads
    return Case("oms", "order_lines", {"2026-02-01.csv": csv_text(_c("oms", "order_lines"), r).encode()},
                loaded=2, quarantined={2: "unit_price: 12.345 has more than 2 decimal places",
                                       3: "discount_amount: 0.001 has more than 2 decimal places"})


def _case_boolean_spellings():
    r = rows("crm", "marketing_consents", n=5)
    r[0]["is_granted"] = "yes"  # DuckDB reads yes/y/t/1 as true
    r[1]["is_granted"] = "1"
    r[2]["is_granted"] = "TRUE"  # case does not matter
    return Case("crm", "marketing_consents",
                {"2026-02-01.csv": csv_text(_c("crm", "marketing_consents"), r).encode()},
                loaded=3, quarantined={2: "is_granted: yes is not a valid BOOLEAN", 3: "is_granted: 1 is not a valid BOOLEAN"})


def _case_impossible_and_loose_dates():
    r = rows("wms", "inventory_snapshots", n=4)
    r[0]["snapshot_date"] = "2026-02-30"
    r[1]["snapshot_date"] = "2026-2-1"  # DuckDB reads it; the contract says YYYY-MM-DD
    return Case("wms", "inventory_snapshots",
                {"2026-02-01.csv": csv_text(_c("wms", "inventory_snapshots"), r).encode()},
                loaded=2, quarantined={2: "snapshot_date: 2026-02-30 is not a valid DATE", 3: "snapshot_date: 2026-2-1 is not a valid DATE"})


def _case_not_a_finite_number():
    r = rows("wms", "locations", n=4)
    r[0]["latitude"] = "NaN"
    r[1]["longitude"] = "inf"
    return Case("wms", "locations", {"2026-02-01.csv": csv_text(_c("wms", "locations"), r).encode()},
                loaded=2, quarantined={2: "latitude: NaN is not a valid DOUBLE", 3: "longitude: inf is not a valid DOUBLE"})


def _case_json_object_with_a_repeated_key():
    r = rows("web", "events", n=4)
    line = json.dumps(r[1])
    r[1] = line[:-1] + ', "anonymous_id": "someone-else"}'  # which id would a reader take?
    r[2] = json.dumps(r[2]).replace('"context": {', '"context": {"kind": "y", ')  # repeated inside context
    return Case("web", "events", {"2026-02-01.jsonl": jsonl_text(r).encode()},
                loaded=2, quarantined={2: "JSON object repeats key(s) anonymous_id", 3: "JSON object repeats key(s) kind"})


def _case_event_older_than_the_horizon():
    r = rows("web", "events", n=3)
    r[0]["timestamp"] = "1970-01-01T00:00:00Z"  # an epoch placeholder
    r[1]["timestamp"] = "2014-01-01T00:00:00Z"
    return Case("web", "events", {"2026-02-01.jsonl": jsonl_text(r).encode()},
                loaded=1, quarantined={1: "timestamp: 1970-01-01T00:00:00Z is older than the event horizon (3650 days before 2026-02-01)",
                                       2: "is older than the event horizon"})


# ---------------------------------------------------------------- headers

def _case_header_with_an_empty_column_name():
    contract = _c("oms", "returns")
    header = [c.name for c in contract.columns] + [""]  # a trailing comma
    return Case("oms", "returns", {"2026-02-01.csv": csv_text(contract, rows("oms", "returns"), header=header).encode()},
                error=(f"column {len(header)} of the header has no name",))


def _case_header_with_a_repeated_column_name():
    contract = _c("crm", "customers")
    header = [c.name for c in contract.columns] + ["email"]
    return Case("crm", "customers", {"2026-02-01.csv": csv_text(contract, rows("crm", "customers"), header=header).encode()},
                error=("column(s) email appear more than once in the header",))


# ---------------------------------------------------------------- files

def _case_file_dated_in_the_future():
    return Case("oms", "orders", {"2027-01-01.csv": csv_text(_c("oms", "orders"), rows("oms", "orders")).encode()},
                loaded=0, quarantined={2: "file date: 2027-01-01 is in the future", 3: "file date", 4: "file date"},
                rejected="2027-01-01 is in the future (after 2026-03-02)")


def _case_file_dated_before_all_its_rows():
    # every row happened weeks after the day the file is named after: the name is wrong
    return Case("crm", "email_events",
                {"2026-01-10.csv": csv_text(_c("crm", "email_events"), rows("crm", "email_events")).encode()},
                loaded=0, quarantined={2: "is before every row's occurred_at", 3: "file date", 4: "file date"},
                rejected="file date: 2026-01-10 is before every row's occurred_at (the earliest is 2026-02-01 10:00:00 UTC)")


def _case_file_named_after_an_impossible_date():
    return Case("pim", "reviews", {"2026-02-30.jsonl": jsonl_text(rows("pim", "reviews")).encode()},
                loaded=0, quarantined={1: "file date: 2026-02-30 is not a real date", 2: "file date", 3: "file date"},
                rejected="2026-02-30 is not a real date")


def _case_gzip_csv():
    r = rows("oms", "orders", n=4)
    r[3]["currency"] = "XBT"
    return Case("oms", "orders", {"2026-02-01.csv.gz": gzip.compress(csv_text(_c("oms", "orders"), r).encode())},
                loaded=3, quarantined={5: "currency: XBT is not an accepted value"})


def _case_gzip_jsonl():
    text = jsonl_text(rows("web", "events")).replace("\n", "\n\n", 1)  # a blank line 2 counts as a line
    lines = text.split("\n")
    lines[2] = lines[2][:-10]  # line 3 broken
    return Case("web", "events", {"2026-02-01.jsonl.gz": gzip.compress("\n".join(lines).encode())},
                loaded=2, quarantined={3: "line is not a JSON object"})


def _case_upper_case_extensions():
    return Case("wms", "locations", {"2026-02-01.CSV": csv_text(_c("wms", "locations"), rows("wms", "locations")).encode()},
                loaded=3)


def _case_files_that_are_not_deliveries():
    garbage = b"\x00\x05Mac OS X        \x00\x02not,a,csv"
    return Case("pim", "reviews", {"2026-02-01.jsonl": jsonl_text(rows("pim", "reviews")).encode()},
                other_files={".DS_Store": garbage, "._2026-02-01.jsonl": garbage,
                             "2026-02-02.jsonl.part": b'{"review_id": "half', "README.md": b"# reviews export\n",
                             "2026-02-02.csv": b"review_id\nR1\n", "2026-02-03.jsonl.zip": b"PK\x03\x04"},
                loaded=3)


# ---------------------------------------------------------------- physical lines

def _case_quoted_field_with_newlines_then_a_bad_row():
    r = rows("crm", "support_tickets", n=4)
    r[0]["email"] = "first line\nsecond line\n\nafter a blank line"  # record 1 spans lines 2-5
    r[2]["satisfaction_score"] = "9"  # record 3 starts on physical line 7
    text = csv_text(_c("crm", "support_tickets"), r)
    return Case("crm", "support_tickets", {"2026-02-01.csv": text.encode()},
                loaded=3, quarantined={7: "satisfaction_score: 9 is above 5"})


def _case_blank_lines_in_csv():
    lines = csv_text(_c("oms", "returns"), rows("oms", "returns", n=3)).split("\n")
    lines[2] = lines[2].replace(",changed_mind,", ",no_reason,").replace(",not_as_described,", ",no_reason,").replace(",defective,", ",no_reason,")
    text = "\n".join([lines[0], "", lines[1], "", "", lines[2], lines[3], ""])
    # header 1, blank 2, record on 3, blanks 4-5, bad record on 6, good record on 7
    return Case("oms", "returns", {"2026-02-01.csv": text.encode()},
                loaded=2, quarantined={6: "reason: no_reason is not an accepted value"})


CASES = {
    name.removeprefix("_case_"): fn
    for name, fn in sorted(globals().items())
    if name.startswith("_case_") and callable(fn)
}


def test_the_corpus_covers_forty_kinds_across_the_five_sources():
    cases = [fn() for fn in CASES.values()]
    assert len(cases) >= 40
    assert {c.system for c in cases} == {"oms", "crm", "web", "pim", "wms"}


@pytest.fixture
def conn(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as c:
        yield c


@pytest.mark.parametrize("kind", sorted(CASES))
def test_bad_input(kind, conn, tmp_path):
    case = CASES[kind]()
    contract = get_contract(case.system, case.entity)
    folder = tmp_path / "landing" / case.system / case.entity
    folder.mkdir(parents=True)
    paths = []
    for name, data in case.files.items():
        (folder / name).write_bytes(data)
        paths.append(str(folder / name))
    for name, data in case.other_files.items():
        (folder / name).write_bytes(data)

    if case.error:
        with pytest.raises(ContractViolation) as err:
            ingest_entity(conn, contract, tmp_path / "landing", now=NOW)
        message = str(err.value)
        assert paths[0] in message, message
        for part in case.error:
            assert part in message, message
        return

    result = ingest_entity(conn, contract, tmp_path / "landing", now=NOW)
    assert result.is_reconciled
    assert result.rows_read == result.rows_loaded + result.rows_quarantined + result.duplicates_removed
    assert [f.file for f in result.per_file] == paths
    assert all(f.is_reconciled for f in result.per_file)
    assert result.rows_loaded == case.loaded
    assert result.duplicates_removed == case.duplicates
    assert conn.execute(f"select count(*) from {contract.raw_table}").fetchone()[0] == case.loaded
    quarantine = dict(
        conn.execute(
            f"select _source_line, reason from {contract.quarantine_table} where _source_file = ? order by 1",
            [paths[0]],
        ).fetchall()
    )
    assert set(quarantine) == set(case.quarantined), quarantine
    for line, reason in case.quarantined.items():
        assert reason in quarantine[line], (line, quarantine[line])
    assert result.rows_quarantined == len(case.quarantined)
    # the per-file reconciliation is kept in the warehouse too
    assert conn.execute(
        f"select count(*), bool_and(is_reconciled), sum(rows_read) from {contract.reconciliation_table}"
    ).fetchone() == (len(paths), True, result.rows_read)
    if case.warning:
        assert any(case.warning in w for w in result.warnings), result.warnings
    assert sorted(result.ignored_files) == sorted(str(folder / name) for name in case.other_files)
    if case.rejected:
        assert list(result.rejected_files) == [paths[0]]
        assert case.rejected in result.rejected_files[paths[0]]
    else:
        assert result.rejected_files == {}


def test_extra_columns_are_kept_in_raw(conn, tmp_path):
    case = _case_extra_csv_column()
    folder = tmp_path / "landing" / "oms" / "order_lines"
    folder.mkdir(parents=True)
    (folder / "2026-02-01.csv").write_bytes(case.files["2026-02-01.csv"])
    result = ingest_entity(conn, get_contract("oms", "order_lines"), tmp_path / "landing", now=NOW)
    assert list(result.extra_columns.values()) == [["gift_wrap"]]
    assert conn.execute("select distinct _extra_columns->>'$.gift_wrap' from raw.oms__order_lines").fetchall() == [("yes",)]
    # the typed contract columns are unchanged
    assert conn.execute("select quantity from raw.oms__order_lines limit 1").fetchone()[0] == 1


def test_a_ten_times_larger_file_loads_and_reconciles(conn, tmp_path):
    """Ten times a normal day of web events (a standard-scale day is ~80k events), with a few bad
    lines and client retries sprinkled in: everything is accounted for."""
    contract = get_contract("web", "events")
    n = 800_000
    folder = tmp_path / "landing" / "web" / "events"
    folder.mkdir(parents=True)
    path = folder / "2026-02-01.jsonl"
    duck(
        f"""
        copy (
            select case when i % 100000 = 7 then '{{broken'
                        else json_object('message_id', 'm' || j, 'type', 'page', 'anonymous_id', 'a' || (j % 5000),
                                         'timestamp', '2026-02-01T10:00:00Z',
                                         'context', json_object('page', json_object('path', '/p/' || (j % 300))))::varchar
                   end as line
            from (select i, case when i % 50000 = 1 then i - 1 else i end as j from range({n}) t(i))
        ) to '{path}' (format csv, header false, quote '', delimiter '\x1e')
        """
    )
    result = ingest_entity(conn, contract, tmp_path / "landing", now=NOW)
    assert result.rows_read == n
    assert result.rows_quarantined == 8  # the broken lines
    assert result.duplicates_removed == 16  # retries identical to the line before
    assert result.rows_loaded == n - 8 - 16
    assert result.is_reconciled
