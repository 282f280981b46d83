"""The plan of one load: which files, full refresh or partial, the clock the checks use, and the
temp tables the steps of `load` pass to each other."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from dagster_project.contracts import SourceEntity
from dagster_project.ingestion.discovery import DELIVERY_SUFFIXES, Discovery, discover_deliveries
from dagster_project.ingestion.results import DeliveriesMissing
from dagster_project.ingestion.tables import has_current_layout

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadPlan:
    """One load of one source entity. Each step of `load` reads the temp tables of the steps
    before it and creates its own; the names are here so that no step guesses them."""

    contract: SourceEntity
    files: tuple[Path, ...]
    # True: only the rows of `files` are replaced (a daily partition); False: a full refresh
    partial: bool
    now: datetime
    future_tolerance: timedelta
    event_horizon: timedelta | None
    # landing-folder entries that are not deliveries (never read) -> why
    ignored: dict[str, str] = field(default_factory=dict)

    # land: one file's records as text, then every file's
    landed_file: str = "landed_file"
    landed: str = "landed"
    # suppress: (file, line) of the landed rows of people forgotten (privacy/suppression.py)
    suppressed: str = "suppressed_rows"
    # check (files): each file's delivery day and, for a file rejected as a whole, the reason
    delivery_files: str = "delivery_files"
    # deduplicate: (file, line) of every exact duplicate beyond its first occurrence
    duplicate_rows: str = "duplicate_rows"
    # check (rows): every landed row with its reasons and duplicate flag
    checked: str = "checked"
    key_candidates: str = "key_candidates"
    # reconcile: this load's per-file counts
    reconciliation: str = "reconciliation_new"

    @property
    def file_names(self) -> list[str]:
        return [str(f) for f in self.files]

    @property
    def loading_table(self) -> str:
        """Where a full refresh builds the raw table before it replaces the old one."""
        return f"raw.{self.contract.name}__loading"

    @property
    def future_limit(self) -> datetime:
        """Event times and delivery days after this are in the future."""
        return self.now + self.future_tolerance


def plan_load(
    conn,
    contract: SourceEntity,
    landing_dir: Path,
    *,
    now: datetime | None,
    future_tolerance: timedelta,
    event_horizon: timedelta | None,
    files: list[Path] | None,
) -> LoadPlan:
    """The files to load (the given ones, or every delivery for a full refresh); raises
    DeliveriesMissing when there is nothing that may be loaded (see `ingest_entity`)."""
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    discovery = discover_deliveries(contract, landing_dir)
    if not discovery.exists:
        raise DeliveriesMissing(
            f"{contract.name}: no landing folder {discovery.folder}; create it (it may stay empty until the "
            f"source delivers) or point RCL_LANDING_DIR at the landing area that has it"
        )
    for path, reason in discovery.ignored.items():
        log.info("%s: not read (%s)", path, reason)
    if files is not None and not has_current_layout(conn, contract):
        log.warning("%s: no raw table of the current layout yet; loading every file instead", contract.name)
        files = None
    partial = files is not None
    if partial:
        files = sorted(Path(f) for f in files if Path(f).is_file())
    else:
        files = discovery.files
        if not files:
            _refuse_empty_refresh(conn, contract, discovery)
    return LoadPlan(
        contract=contract, files=tuple(files), partial=partial, now=now, future_tolerance=future_tolerance,
        event_horizon=event_horizon, ignored=discovery.ignored,
    )


def _refuse_empty_refresh(conn, contract: SourceEntity, discovery: Discovery) -> None:
    """A full refresh that finds no delivery files must not empty a table that holds rows."""
    exists = conn.execute(
        "select count(*) from information_schema.tables where table_schema = 'raw' and table_name in (?, ?)",
        [contract.name, f"{contract.name}__quarantine"],
    ).fetchone()[0]
    if exists < 2:
        return
    loaded = conn.execute(
        f"select (select count(*) from {contract.raw_table}) + (select count(*) from {contract.quarantine_table})"
    ).fetchone()[0]
    if loaded:
        ignored = f"; not deliveries there: {', '.join(Path(f).name for f in discovery.ignored)}" if discovery.ignored else ""
        raise DeliveriesMissing(
            f"{discovery.folder}: no delivery files ({' or '.join(DELIVERY_SUFFIXES[contract.format])}) found, but "
            f"{contract.raw_table} and its quarantine hold {loaded} rows from earlier deliveries; a full refresh "
            f"would replace them with an empty table, so {contract.raw_table} is left as it was. Restore the "
            f"files (moved or archived?) or drop the table on purpose{ignored}"
        )
