"""Jobs and the daily schedule.

full_pipeline: landing files to online store. Its partitioned assets take the run's day(s); a
run over every partition is a full refresh (what `make demo` runs). daily_partitions: only the
partitioned assets (ingestion and the incremental dbt models), for backfilling a range of days
before one run of the rest.
"""

import dagster as dg

full_pipeline = dg.define_asset_job(
    name="full_pipeline",
    selection=dg.AssetSelection.all(),
    description="Ingest every source, build and test the dbt models, validate features, publish to Feast.",
)


def build_jobs(partitioned_assets: list[dg.AssetsDefinition]) -> list:
    daily_partitions = dg.define_asset_job(
        name="daily_partitions",
        selection=dg.AssetSelection.assets(*partitioned_assets),
        description="Only the partitioned assets: load the run's delivery days and update the incremental models.",
    )
    return [full_pipeline, daily_partitions]


def build_schedules() -> list:
    # Yesterday's deliveries, every night (off until switched on in the UI). The event-driven
    # alternative: the landing sensors with the automation sensor (defs/sensors.py, docs/operations.md).
    return [
        dg.build_schedule_from_partitioned_job(
            full_pipeline, hour_of_day=2, minute_of_hour=0, name="nightly_pipeline",
            default_status=dg.DefaultScheduleStatus.STOPPED,
        )
    ]
