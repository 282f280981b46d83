"""Who a deletion request is about: the identifier given, resolved through the identity graph
(intermediate.int_customer_id_registry) to the person's customer ids and every identifier,
order and cart of theirs the warehouse knows."""

from __future__ import annotations

from dataclasses import dataclass, field

from dagster_project.privacy.identifiers import REQUEST_KINDS, node_value
from dagster_project.settings import Settings

REGISTRY = "intermediate.int_customer_id_registry"


class UnknownIdentifier(LookupError):
    """The identifier is in none of the warehouse's identity tables: nothing to delete."""


class SharedIdentifier(ValueError):
    """The identifier links several customers (cut by the over-merge guard): it names no one person."""


@dataclass
class Person:
    """Everything that identifies one person: values per kind (emails and phones as their hashes)."""

    identifiers: dict[str, set[str]] = field(default_factory=dict)
    # clear-text emails and phones found in their raw rows (for free-text matching and redaction)
    clear_text: set[str] = field(default_factory=set)

    def add(self, kind: str, values) -> None:
        self.identifiers.setdefault(kind, set()).update(v for v in values if v is not None and str(v).strip())

    def values(self, kind: str) -> set[str]:
        return self.identifiers.get(kind, set())

    @property
    def customer_ids(self) -> set[str]:
        return self.values("customer_id")

    def pairs(self) -> list[tuple[str, str]]:
        return sorted((kind, value) for kind, values in self.identifiers.items() for value in values)

    def tokens(self, min_length: int = 6) -> set[str]:
        """Every id and clear-text value long enough to search for inside text."""
        found = {v for values in self.identifiers.values() for v in values} | self.clear_text
        return {t for t in found if len(t) >= min_length}


def table_exists(conn, qualified: str) -> bool:
    schema, table = qualified.split(".")
    return bool(conn.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table]).fetchone()[0])


def resolve(conn, request_kind: str, value: str, settings: Settings) -> Person:
    """The person behind one identifier (a REQUEST_KINDS key and its clear-text value). Raises
    UnknownIdentifier or SharedIdentifier."""
    kind = REQUEST_KINDS[request_kind]
    node = node_value(conn, kind, value, settings)
    if node is None or not table_exists(conn, REGISTRY):
        raise UnknownIdentifier(f"no {request_kind} like that is known to the warehouse")
    if kind == "customer_id":
        rows = conn.execute(f"select distinct customer_id, false from {REGISTRY} where customer_id = ?", [node]).fetchall()
    else:
        rows = conn.execute(f"select distinct customer_id, is_shared_identifier from {REGISTRY} "
                            "where identifier_type = ? and identifier_value = ?", [kind, node]).fetchall()
    if not rows:
        raise UnknownIdentifier(f"no {request_kind} like that is known to the warehouse")
    if any(shared for _, shared in rows) or len(rows) > 1:
        raise SharedIdentifier(
            f"this {request_kind} is shared by several customers (the identity graph's over-merge guard cut it): "
            "it names no one person; give another identifier of the person (e.g. --customer-id)")
    person = Person()
    person.add("customer_id", [rows[0][0]])
    _add_retired_ids(conn, person)
    _add_identifiers(conn, person)
    if kind != "customer_id":
        person.add(kind, [node])
    return person


def _add_retired_ids(conn, person: Person) -> None:
    """Customer ids merged into the person's in earlier runs (marts.customer_merges)."""
    if not table_exists(conn, "marts.customer_merges"):
        return
    while True:
        retired = {r[0] for r in conn.execute(
            "select distinct from_customer_id from marts.customer_merges "
            "where to_customer_id in (select unnest(?::varchar[])) and change_type = 'merge'",
            [sorted(person.customer_ids)]).fetchall()}
        if retired <= person.customer_ids:
            return
        person.add("customer_id", retired)


def _add_identifiers(conn, person: Person) -> None:
    """Every identifier of the person's customer ids in the registry, their orders and carts."""
    ids = sorted(person.customer_ids)
    for kind, value in conn.execute(
        f"select identifier_type, identifier_value from {REGISTRY} where customer_id in (select unnest(?::varchar[]))",
        [ids],
    ).fetchall():
        person.add(kind, [value])
    for kind, query in (
        ("order_id", "select order_id from marts.orders where customer_id in (select unnest(?::varchar[]))"),
        ("cart_id", "select cart_id from marts.carts where customer_id in (select unnest(?::varchar[]))"),
    ):
        table = query.split(" from ")[1].split(" ")[0]
        if table_exists(conn, table):
            person.add(kind, [r[0] for r in conn.execute(query, [ids]).fetchall()])
    if table_exists(conn, "staging.stg_web__events") and person.values("anonymous_id"):
        person.add("cart_id", [r[0] for r in conn.execute(
            "select distinct cart_id from staging.stg_web__events where cart_id is not null "
            "and anonymous_id in (select unnest(?::varchar[]))", [sorted(person.values("anonymous_id"))]).fetchall()])
