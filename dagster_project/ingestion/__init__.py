"""Loading landing files into the warehouse's `raw` schema, enforcing the source contracts.

For one source entity (`ingest_entity`): the landing folder's delivery files are found and the
other files listed as ignored (`discovery`); every file is read as text with each record's
physical line (`reading`); whole files that cannot be what their name says are rejected, each
row is checked against the contract (`values`: a value must denote exactly one value of its
type, within range, accepted values, event time neither in the future nor beyond the event
horizon), exact duplicates are counted, and raw, quarantine and reconciliation tables are
written in one transaction (`load`, whose steps run in the order written there). Bad rows go to
`raw.<system>__<entity>__quarantine` with file, physical line and reason; rows read = loaded +
quarantined + duplicates removed, per file (`results`, `tables`).

A file that cannot be loaded at all (a required column missing, an empty or repeated header
name, a wrong delimiter, a changed column type, an unreadable file) raises `ContractViolation`
naming the file; a missing landing folder, or a full refresh that finds no files where rows were
loaded before, raises `DeliveriesMissing`. The raw tables are then left as they were. Every check
is set-based SQL in DuckDB: nothing runs per row in Python.
"""

from dagster_project.ingestion.discovery import (
    DELIVERY_SUFFIXES,
    IN_FLIGHT_SUFFIXES,
    Discovery,
    delivery_date,
    discover_deliveries,
    landing_folder,
)
from dagster_project.ingestion.load import DEFAULT_EVENT_HORIZON, DEFAULT_FUTURE_TOLERANCE, ingest_entity
from dagster_project.ingestion.reading import CHANGED_TYPE_MIN_VALUES, CHANGED_TYPE_SAMPLE, CHANGED_TYPE_SHARE
from dagster_project.ingestion.results import ContractViolation, DeliveriesMissing, FileReconciliation, IngestionResult
from dagster_project.ingestion.tables import (
    EXTRA_COLUMNS_COLUMN,
    METADATA_COLUMNS,
    QUARANTINE_COLUMNS,
    quarantine_table_ddl,
    raw_table_ddl,
)
from dagster_project.ingestion.values import MAX_OFFSET_MINUTES

__all__ = [
    "CHANGED_TYPE_MIN_VALUES",
    "CHANGED_TYPE_SAMPLE",
    "CHANGED_TYPE_SHARE",
    "DEFAULT_EVENT_HORIZON",
    "DEFAULT_FUTURE_TOLERANCE",
    "DELIVERY_SUFFIXES",
    "EXTRA_COLUMNS_COLUMN",
    "IN_FLIGHT_SUFFIXES",
    "MAX_OFFSET_MINUTES",
    "METADATA_COLUMNS",
    "QUARANTINE_COLUMNS",
    "ContractViolation",
    "DeliveriesMissing",
    "Discovery",
    "FileReconciliation",
    "IngestionResult",
    "delivery_date",
    "discover_deliveries",
    "ingest_entity",
    "landing_folder",
    "quarantine_table_ddl",
    "raw_table_ddl",
]
