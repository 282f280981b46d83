"""Loading landing files into the warehouse's `raw` schema, enforcing the source contracts.

`ingest_entity` plans a load (`plan`), then runs its steps (`load`): land every file as text
(`discovery`, `reading`), drop the rows of forgotten people (`privacy.suppression`), check files
and rows (`values`), deduplicate, write raw, quarantine
and reconciliation tables in one transaction (`tables`), report (`results`). Why rows are
quarantined rather than dropped: docs/adr/ingestion-quarantine-and-reconciliation.md.
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
