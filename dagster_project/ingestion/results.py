"""What a load reports (per file and in total), and the errors that stop one."""

from __future__ import annotations

from dataclasses import dataclass, field


class ContractViolation(ValueError):
    """A landing file that cannot be loaded at all (e.g. a required column is missing)."""


class DeliveriesMissing(ContractViolation):
    """The entity's landing folder is missing, or a full refresh found no delivery files where
    rows were loaded before: failing beats replacing the raw table with an empty one."""


@dataclass
class FileReconciliation:
    file: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    duplicates_removed: int = 0
    # rows of people on the suppression list (forgotten), dropped before any check
    rows_suppressed: int = 0

    @property
    def is_reconciled(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined + self.duplicates_removed + self.rows_suppressed


@dataclass
class IngestionResult:
    entity: str
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    duplicates_removed: int = 0
    rows_suppressed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    per_file: list[FileReconciliation] = field(default_factory=list)
    # file -> columns/keys found there that the contract does not list (kept in _extra_columns)
    extra_columns: dict[str, list[str]] = field(default_factory=dict)
    # files in the landing folder that are not deliveries (never read) -> why
    ignored_files: dict[str, str] = field(default_factory=dict)
    # delivery files whose rows were all quarantined because of the file itself -> why
    rejected_files: dict[str, str] = field(default_factory=dict)
    # False when only some files were (re)loaded; the counts above are then those files' counts
    full_refresh: bool = True
    # rows in the raw table after the load (all files)
    table_rows: int = 0

    @property
    def is_reconciled(self) -> bool:
        totals = self.rows_read == (self.rows_loaded + self.rows_quarantined + self.duplicates_removed
                                    + self.rows_suppressed)
        per_file_sum = (
            sum(f.rows_read for f in self.per_file) == self.rows_read
            and sum(f.rows_loaded for f in self.per_file) == self.rows_loaded
            and sum(f.rows_quarantined for f in self.per_file) == self.rows_quarantined
        )
        return totals and per_file_sum and all(f.is_reconciled for f in self.per_file)

    @property
    def unreconciled_files(self) -> list[str]:
        return [f.file for f in self.per_file if not f.is_reconciled]

    @property
    def quarantine_rate(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0
