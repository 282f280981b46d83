"""Daily partitions: the day a source delivered its files.

Every source drops one file per entity and day (`<YYYY-MM-DD>.<ext>`), so a partition is a
delivery day. Partitioned assets (ingestion and the incremental dbt models) take a single day,
or a range of days in one run (`BackfillPolicy.single_run()`: a backfill of a year is one run,
not 365). A run covering every partition is a full refresh: every landing file is loaded and the
incremental models are rebuilt from scratch.

A partition's run also reloads the files of the `late_data_lookback_days` days before it, so
a source that delivers a day's file again (with rows it had missed) or late is picked up; the
incremental models recompute what those rows touch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from dagster_project.contracts import SourceEntity
from dagster_project.ingestion import delivery_date, discover_deliveries
from dagster_project.settings import Settings


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=settings.partitions_start, timezone="UTC")


@dataclass(frozen=True)
class DeliveryWindow:
    """The delivery days a run processes: [start, end), look-back days included. `full` when
    the run covers every partition (a full refresh)."""

    start: date | None
    end: date | None
    full: bool

    @property
    def dbt_vars(self) -> dict[str, str]:
        return {} if self.full else {"window_start": self.start.isoformat(), "window_end": self.end.isoformat()}

    def files(self, contract: SourceEntity, landing_dir: Path) -> list[Path] | None:
        """The entity's delivery files delivered in the window; None for a full refresh. Files
        that are not deliveries, and files not named by day, are left to full refreshes (which
        list or load them)."""
        if self.full:
            return None
        found = []
        for path in discover_deliveries(contract, landing_dir).files:
            day = delivery_date(contract, path)
            if day is not None and self.start <= day < self.end:
                found.append(path)
        return found

    def describe(self) -> str:
        return "all partitions (full refresh)" if self.full else f"deliveries {self.start} to {self.end - timedelta(days=1)}"


def delivery_window(context: dg.AssetExecutionContext, partitions: dg.DailyPartitionsDefinition,
                    settings: Settings) -> DeliveryWindow:
    if not (context.has_partition_key or context.has_partition_key_range):
        return DeliveryWindow(None, None, full=True)
    window = context.partition_time_window
    first = partitions.get_first_partition_window()
    last = partitions.get_last_partition_window()
    if first is not None and last is not None and window.start <= first.start and window.end >= last.end:
        return DeliveryWindow(None, None, full=True)
    start = window.start.date() - timedelta(days=settings.late_data_lookback_days)
    return DeliveryWindow(start, window.end.date(), full=False)
