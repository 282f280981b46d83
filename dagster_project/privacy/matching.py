"""SQL that finds one person's rows in any table or Parquet file, from its column names and types
(privacy/columns.py): ids by kind, clear-text emails and phones hashed as staging hashes them,
lists of ids, (type, value) pairs of the identity tables, identifier keys inside JSON, and, in
free-text columns (a quarantined record as delivered), any of the person's tokens as a word."""

from __future__ import annotations

from dagster_project.privacy.columns import JSON_KEYS, clear_text_kind, column_kind, list_kind, typed_pairs
from dagster_project.privacy.identifiers import hash_sql, sql_literal
from dagster_project.privacy.person import Person
from dagster_project.settings import Settings

PERSON_VALUES = "person_values"
_TEXT_TYPES = ("VARCHAR", "JSON")
_REGEX_SPECIAL = set("\\.^$|?*+()[]{}")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_person(conn, person: Person) -> None:
    """The person's (kind, value) pairs as temp table `person_values` in `conn`."""
    pairs = person.pairs()
    conn.execute(f"create or replace temp table {PERSON_VALUES} (kind VARCHAR, value VARCHAR)")
    if pairs:
        conn.execute(f"insert into {PERSON_VALUES} select unnest(?::varchar[]), unnest(?::varchar[])",
                     [[k for k, _ in pairs], [v for _, v in pairs]])


def _values(kind: str) -> str:
    return f"(select value from {PERSON_VALUES} where kind = {sql_literal(kind)})"


def _value_list(kind: str) -> str:
    return f"(select coalesce(list(value), []::varchar[]) from {PERSON_VALUES} where kind = {sql_literal(kind)})"


def _word_regex(tokens: set[str]) -> str | None:
    """A regex matching any token (lower-cased) as a whole word of a text."""
    if not tokens:
        return None
    escaped = ["".join("\\" + ch if ch in _REGEX_SPECIAL else ch for ch in t.lower()) for t in sorted(tokens)]
    return f"(^|[^a-z0-9])({'|'.join(escaped)})($|[^a-z0-9])"


def _column_tests(name: str, type_: str, settings: Settings, json_keys: tuple[str, ...]) -> list[str]:
    """Tests of one column by its name and type (empty: it holds no identifier)."""
    q, t = quote(name), type_.upper()
    kind, listed, clear = column_kind(name), list_kind(name), clear_text_kind(name)
    if t.endswith("[]"):
        list_of = kind or listed
        return [f"list_has_any({q}::varchar[], {_value_list(list_of)})"] if list_of else []
    if t not in _TEXT_TYPES:
        return []
    if kind:
        return [f"{q} in {_values(kind)}"]
    if listed:
        return [f"list_has_any(list_transform(string_split({q}, ','), lambda x: trim(x)), {_value_list(listed)})"]
    if clear:
        return [f"{hash_sql(clear, q, settings)} in {_values(clear)}"]
    if t == "JSON":
        tests = []
        for key in json_keys:
            key_kind = column_kind(key) or clear_text_kind(key)
            extracted = f"json_extract_string(try_cast({q} as json), {sql_literal('$.' + key)})"
            expression = hash_sql(key_kind, extracted, settings) if key_kind in ("email_hash", "phone_hash") and \
                clear_text_kind(key) else extracted
            tests.append(f"{expression} in {_values(key_kind)}")
        return tests
    return []


def _typed_pair_tests(type_column: str, value_column: str, settings: Settings) -> list[str]:
    """A (type, value) pair of an identity table: the value by its kind, or, typed as a clear-text
    email or phone (a ground-truth file), hashed as staging hashes it."""
    tests = [f"({type_column}, {value_column}) in (select (kind, value) from {PERSON_VALUES})"]
    for clear in ("email", "phone"):
        kind = clear_text_kind(clear)
        tests.append(f"(lower({type_column}) = {sql_literal(clear)} and "
                     f"{hash_sql(kind, value_column, settings)} in {_values(kind)})")
    return tests


def person_condition(columns: list[tuple[str, str]], person: Person, settings: Settings, *,
                     free_text: bool = False, json_keys: tuple[str, ...] = JSON_KEYS) -> str | None:
    """SQL true for a row of the person, over columns (name, DuckDB type); needs `load_person`
    on the connection. `free_text`: text columns that are no identifier are searched for the
    person's tokens as words (a quarantined record). None: no column can hold the person."""
    tests = []
    classified = set()
    for name, type_ in columns:
        found = _column_tests(name, type_, settings, json_keys)
        if found:
            classified.add(name)
        tests += found
    for type_column, value_column in typed_pairs([c for c, _ in columns]):
        tests += _typed_pair_tests(quote(type_column), quote(value_column), settings)
        classified.add(value_column)
    regex = _word_regex(person.tokens()) if free_text else None
    if regex:
        tests += [f"regexp_matches(lower({quote(name)}::varchar), {sql_literal(regex)})"
                  for name, type_ in columns if type_.upper() in _TEXT_TYPES and name not in classified]
    return " or ".join(f"coalesce({test}, false)" for test in tests) or None
