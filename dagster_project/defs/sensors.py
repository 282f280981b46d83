"""Sensors: one per source system that requests the system's daily partitions when its landing
files appear or change, the alert on failed runs, and the automation sensor that refreshes
what reads a changed asset. Nothing is scanned when the definitions load: a landing sensor
lists its folders when it is evaluated. Defaults and the choice between these sensors and the
nightly schedule: docs/operations.md, docs/adr/operating-in-the-dagster-ui.md."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path

import dagster as dg

from dagster_project.contracts import CONTRACTS, SourceEntity
from dagster_project.defs.alerts import notify_run_failure
from dagster_project.defs.assets.ingestion import raw_asset_key
from dagster_project.defs.resources import RclSettings
from dagster_project.ingestion import delivery_date, discover_deliveries
from dagster_project.pipeline import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG

LANDING_SENSOR_INTERVAL_SECONDS = 60
AUTOMATION_SENSOR_NAME = "refresh_on_upstream_change"
SOURCE_SYSTEM_TAG = "rcl/source_system"


def source_systems() -> list[str]:
    return sorted({contract.system for contract in CONTRACTS})


def landing_sensor_name(system: str) -> str:
    return f"{system}_landing_files"


def day_fingerprints(contracts: list[SourceEntity], landing_dir: Path) -> dict[str, dict[str, list[int]]]:
    """delivery day -> {file relative to the landing folder: [size, mtime in ns]} of the
    systems' delivery files (files still being uploaded, hidden files and files not named by
    day are not deliveries: discover_deliveries leaves them out)."""
    days: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for contract in contracts:
        for path in discover_deliveries(contract, landing_dir).files:
            day = delivery_date(contract, path)
            if day is None:
                continue
            stat = path.stat()
            days[day.isoformat()][str(path.relative_to(landing_dir))] = [stat.st_size, stat.st_mtime_ns]
    return dict(days)


def digest(files: dict[str, list[int]]) -> str:
    """Hash of a set of files' names, sizes and modification times."""
    text = json.dumps(sorted((name, size, mtime) for name, (size, mtime) in files.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def plan_landing_request(system: str, fingerprints: dict[str, dict[str, list[int]]], cursor: dict[str, str],
                         partitions: dg.DailyPartitionsDefinition) -> tuple[dg.RunRequest | None, dict[str, str], list[str]]:
    """(the run request for the days whose files are new or changed since `cursor`, the next
    cursor, the days left for later). A day whose partition does not exist yet (today's
    delivery, a date in the future) stays out of the cursor and is requested once it does;
    a day before the first partition is recorded and left to full refreshes."""
    next_cursor, changed, waiting = {}, [], []
    for day, files in sorted(fingerprints.items()):
        day_digest = digest(files)
        if partitions.has_partition_key(day):
            next_cursor[day] = day_digest
            if cursor.get(day) != day_digest:
                changed.append(day)
        elif day < partitions.start.strftime("%Y-%m-%d"):
            next_cursor[day] = day_digest
        else:
            waiting.append(day)
    if not changed:
        return None, next_cursor, waiting
    run_key = f"{system}:{changed[0]}..{changed[-1]}:" + digest(
        {name: stat for day in changed for name, stat in fingerprints[day].items()})
    tags = {SOURCE_SYSTEM_TAG: system}
    if len(changed) == 1:
        return dg.RunRequest(run_key=run_key, partition_key=changed[0], tags=tags), next_cursor, waiting
    # several days: one run over their range (the assets' backfill policy is a single run)
    tags.update({PARTITION_RANGE_START_TAG: changed[0], PARTITION_RANGE_END_TAG: changed[-1]})
    return dg.RunRequest(run_key=run_key, tags=tags), next_cursor, waiting


def build_landing_sensor(system: str, target: dg.AssetSelection,
                         partitions: dg.DailyPartitionsDefinition) -> dg.SensorDefinition:
    contracts = [contract for contract in CONTRACTS if contract.system == system]

    @dg.sensor(
        name=landing_sensor_name(system),
        target=target,
        minimum_interval_seconds=LANDING_SENSOR_INTERVAL_SECONDS,
        # launches runs: off until an operator turns it on (the nightly schedule is the alternative)
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=(
            f"New or changed delivery files under landing/{system}/: requests the {system} ingestion assets and "
            "their incremental models for the files' delivery days. Run key: the files' names, sizes and "
            "modification times; cursor: one such hash per day."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext, rcl_settings: RclSettings):
        landing_dir = rcl_settings.settings.landing_dir
        cursor = json.loads(context.cursor) if context.cursor else {}
        request, next_cursor, waiting = plan_landing_request(
            system, day_fingerprints(contracts, landing_dir), cursor, partitions)
        if waiting:
            context.log.info(f"{system}: deliveries of {', '.join(waiting)} wait for their partition to exist")
        context.update_cursor(json.dumps(next_cursor, sort_keys=True))
        if request is None:
            return dg.SkipReason(f"no new or changed {system} delivery files under {landing_dir.name}/{system}")
        return request

    return _sensor


def build_landing_sensors(partitioned_assets: list[dg.AssetsDefinition],
                          partitions: dg.DailyPartitionsDefinition) -> list[dg.SensorDefinition]:
    """One sensor per source system; each targets the system's ingestion assets and the
    partitioned (incremental) models that read them."""
    partitioned = dg.AssetSelection.assets(*partitioned_assets)
    sensors = []
    for system in source_systems():
        raw = dg.AssetSelection.assets(*(raw_asset_key(c.system, c.entity) for c in CONTRACTS if c.system == system))
        sensors.append(build_landing_sensor(system, raw.downstream() & partitioned, partitions))
    return sensors


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    # sends alerts and launches nothing: on as soon as the daemon runs
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Logs every failed run of this code location (job, run id, failed steps, first error line) "
    "and POSTs it as JSON to RCL_ALERT_WEBHOOK_URL when that is set.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext, rcl_settings: RclSettings):
    notify_run_failure(context, rcl_settings.settings.alert_webhook_url)


def build_automation_sensor() -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR_NAME,
        target=dg.AssetSelection.all(),
        # launches runs: off until an operator chooses event-driven refreshes over the schedule
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Evaluates the assets' automation conditions (defs/asset_policies.py): models, features, the "
        "published warehouse and the online views refresh once something upstream changed.",
    )


def build_sensors(partitioned_assets: list[dg.AssetsDefinition],
                  partitions: dg.DailyPartitionsDefinition) -> list[dg.SensorDefinition]:
    return [*build_landing_sensors(partitioned_assets, partitions), alert_on_run_failure, build_automation_sensor()]
