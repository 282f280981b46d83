"""Pushes for forgotten people are dropped: a tracking layer that still sends a forgotten
customer's cart changes would write them back into the online store after `rcl forget`.

The push endpoint (serving/app.py) asks `PushSuppression.forgotten_rows` which rows of a push name
an identifier on the suppression list (privacy/suppression.py): a column named like an identifier
kind (customer_id, cart_id, order_id, anonymous_id, oms_customer_id, crm_customer_id) whose value,
hashed as the list hashes it (salted SHA-256 of `<kind>:<trimmed value>`), is listed. The list is
re-read when its file changes, so a forget takes effect on running servers at their next push."""

from __future__ import annotations

import hashlib
from pathlib import Path

from dagster_project.pii_salt import known_pii_salt
from dagster_project.privacy.identifiers import ID_KINDS
from dagster_project.privacy.suppression import SuppressionListStale, fingerprint_of, read_entries, suppression_path
from dagster_project.settings import Settings


def id_hash(salt: str, kind: str, value: object) -> str | None:
    """The suppression hash of an id (privacy/identifiers.py's id_hash_sql, in Python)."""
    text = str(value).strip(" ")
    if not text:
        return None
    return hashlib.sha256((salt + kind + ":" + text).encode()).hexdigest()


class PushSuppression:
    """The suppression list as a set of (kind, hash), read again whenever its file changed."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._version: tuple[int, int] | None = None
        self._listed: frozenset[tuple[str, str]] = frozenset()
        self._salt: str | None = None

    def _refresh(self) -> None:
        path: Path = suppression_path(self.settings)
        try:
            stat = path.stat()
        except FileNotFoundError:
            self._version, self._listed = None, frozenset()
            return
        version = (stat.st_mtime_ns, stat.st_size)
        if version == self._version:
            return
        table = read_entries(self.settings)
        salt = known_pii_salt(self.settings)
        fingerprints = set(table.column("salt_fingerprint").to_pylist())
        if table.num_rows and (salt is None or fingerprints - {fingerprint_of(salt)}):
            raise SuppressionListStale(f"{path} was hashed with another salt than this deployment's: pushes are "
                                       "refused until the salt it was made with is restored (docs/privacy.md)")
        self._listed = frozenset(zip(table.column("identifier_type").to_pylist(),
                                     table.column("identifier_hash").to_pylist()))
        self._salt, self._version = salt, version

    def forgotten_rows(self, columns: dict[str, list]) -> list[bool]:
        """Per row of a push (columns by name): whether it names a forgotten person."""
        self._refresh()
        rows = len(next(iter(columns.values()), []))
        kinds = [kind for kind in ID_KINDS if kind in columns]
        if not self._listed or not kinds:
            return [False] * rows
        return [any((kind, id_hash(self._salt, kind, columns[kind][i])) in self._listed
                    for kind in kinds if columns[kind][i] is not None)
                for i in range(rows)]
