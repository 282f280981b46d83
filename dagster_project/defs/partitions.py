"""Daily partitions (a partition is a delivery day) and the delivery window a run processes:
its days plus the `late_data_lookback_days` before them, or every file for a run over every
partition (a full refresh). Behaviour: README.md, "Daily partitions, backfills and late data".
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
    """From the first delivery day; to the last one when the settings name it (end_date is
    exclusive), else a new partition every day."""
    end = settings.partitions_end and (date.fromisoformat(settings.partitions_end) + timedelta(days=1)).isoformat()
    return dg.DailyPartitionsDefinition(start_date=settings.partitions_start, end_date=end, timezone="UTC")


@dataclass(frozen=True)
class DeliveryWindow:
    """The delivery days a run processes: [start, end), look-back days included. `full` when
    the run covers every partition (a full refresh)."""

    start: date | None
    end: date | None
    full: bool

    @property
    def dbt_env(self) -> dict[str, str]:
        """The window as the variables dbt's incremental models read (macros/incremental_window.sql).
        Variables, not `--vars`: dbt re-parses only the files that read a changed variable, while
        changed `--vars` make it re-parse the whole project (several seconds), and again in the
        run's next step, which has none."""
        return {} if self.full else {"RCL_DBT_WINDOW_START": self.start.isoformat(),
                                     "RCL_DBT_WINDOW_END": self.end.isoformat()}

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
