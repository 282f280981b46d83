"""One ingestion asset per source entity: landing files -> raw.<system>__<entity> (+ quarantine).

An entity whose files cannot be loaded (a missing landing folder, a bad header, an unreadable
file, a full refresh that finds no files where rows were loaded before) fails its own asset
with the file named and leaves its raw table as it was; other entities are separate assets."""

from datetime import timedelta
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from dagster_project.contracts import CONTRACTS, SourceEntity
from dagster_project.defs.checks.delivery import rejected_delivery
from dagster_project.defs.checks.raw import RAW_CHECK_NAME, raw_check_spec, run_raw_check
from dagster_project.defs.domains import SOURCES
from dagster_project.defs.partitions import DeliveryWindow, daily_partitions, delivery_window
from dagster_project.defs.resources import RclSettings
from dagster_project.ingestion import DELIVERY_SUFFIXES, ContractViolation, IngestionResult, ingest_entity
from dagster_project.settings import Settings


RECONCILED_CHECK_NAME = "rows_reconciled"
# Above settings.max_quarantine_rate an entity's check fails: a few bad rows are expected from
# real sources, a large share means a changed export or a contract bug.
QUARANTINE_CHECK_NAME = "quarantine_rate"


def raw_asset_key(system: str, entity: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", f"{system}__{entity}"])


def _table_schema(contract: SourceEntity) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name,
                type=c.type,
                description=("PII. " if c.pii else "") + c.description,
                constraints=dg.TableColumnConstraints(nullable=not c.required),
            )
            for c in contract.columns
        ]
    )


def reconciliation_table(result: IngestionResult, settings: Settings, limit: int = 400) -> str:
    """Markdown: one row per file, rows read = loaded + quarantined + duplicates removed + suppressed."""
    lines = ["| file | read | loaded | quarantined | duplicates removed | suppressed | reconciled |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for f in result.per_file[:limit]:
        try:
            name = str(Path(f.file).relative_to(settings.landing_dir))
        except ValueError:
            name = f.file
        lines.append(
            f"| {name} | {f.rows_read} | {f.rows_loaded} | {f.rows_quarantined} | {f.duplicates_removed} | "
            f"{f.rows_suppressed} | {'yes' if f.is_reconciled else '**NO**'} |"
        )
    if len(result.per_file) > limit:
        lines.append(f"| … {len(result.per_file) - limit} more files | | | | | | |")
    lines.append(
        f"| **total** | {result.rows_read} | {result.rows_loaded} | {result.rows_quarantined} | "
        f"{result.duplicates_removed} | {result.rows_suppressed} | {'yes' if result.is_reconciled else '**NO**'} |"
    )
    return "\n".join(lines)


def _relative(files: dict[str, str], settings: Settings) -> dict[str, str]:
    """File paths relative to the landing folder (shorter in the UI, and no machine paths)."""
    out = {}
    for path, reason in files.items():
        try:
            out[str(Path(path).relative_to(settings.landing_dir))] = reason
        except ValueError:
            out[path] = reason
    return out


def _description(contract: SourceEntity, settings: Settings) -> str:
    return (
        f"{contract.description} Loaded from landing/{contract.system}/{contract.entity}/<YYYY-MM-DD>"
        f"{' or '.join(DELIVERY_SUFFIXES[contract.format])} into {contract.raw_table}; "
        f"rows breaking the contract go to {contract.quarantine_table}. Partitioned by delivery day: a "
        f"partition (re)loads that day's files and the {settings.late_data_lookback_days} days before it, "
        "replacing their rows; a run over every partition reloads every file."
    )


def _check_specs(contract: SourceEntity, key: dg.AssetKey, settings: Settings) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            RECONCILED_CHECK_NAME,
            asset=key,
            description="In every file, rows read = loaded + quarantined + exact duplicates removed + suppressed "
            "(rows of forgotten people).",
        ),
        dg.AssetCheckSpec(
            QUARANTINE_CHECK_NAME,
            asset=key,
            description=f"At most {settings.max_quarantine_rate:.0%} of the rows read are quarantined.",
        ),
        raw_check_spec(contract, key),
    ]


def build_ingestion_asset(contract: SourceEntity, settings: Settings) -> dg.AssetsDefinition:
    """The entity's asset; `settings` shapes the definition (partitions, descriptions), the
    run reads its own from the rcl_settings resource."""
    key = raw_asset_key(contract.system, contract.entity)
    partitions = daily_partitions(settings)

    @dg.asset(
        key=key,
        group_name=SOURCES,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"duckdb"},
        tags={"source_system": contract.system},
        description=_description(contract, settings),
        metadata={"dagster/table_name": contract.raw_table, "dagster/column_schema": _table_schema(contract)},
        check_specs=_check_specs(contract, key, settings),
    )
    def _ingest(context: dg.AssetExecutionContext, warehouse: DuckDBResource, rcl_settings: RclSettings):
        run_settings = rcl_settings.settings
        window = delivery_window(context, partitions, run_settings)
        with warehouse.get_connection() as conn:
            yield from ingest_delivery(context, conn, contract, key, window, run_settings)

    return _ingest


def ingest_delivery(context: dg.AssetExecutionContext, conn, contract: SourceEntity, key: dg.AssetKey,
                    window: DeliveryWindow, settings: Settings):
    """Load the window's files of one entity and yield the asset's materialization and checks."""
    try:
        result = ingest_entity(
            conn, contract, settings.landing_dir, files=window.files(contract, settings.landing_dir),
            event_horizon=timedelta(days=settings.event_horizon_days), settings=settings,
        )
    except ContractViolation as exc:  # the table keeps its last good load (defs/checks/delivery.py)
        context.log.error(f"{contract.name}: delivery rejected: {exc}")
        yield from rejected_delivery(conn, contract, key, [RECONCILED_CHECK_NAME, QUARANTINE_CHECK_NAME, RAW_CHECK_NAME], exc)
        return
    load = "full refresh" if result.full_refresh else window.describe()
    _log_load(context, contract, result, load)
    yield dg.MaterializeResult(metadata=_load_metadata(conn, contract, result, load, settings))
    yield _reconciliation_check(result, settings)
    yield _quarantine_check(result, settings)
    yield _raw_expectations(context, conn, contract, settings)


def _log_load(context: dg.AssetExecutionContext, contract: SourceEntity, result: IngestionResult, load: str) -> None:
    for path, reason in result.ignored_files.items():
        context.log.info(f"not read: {path} ({reason})")
    for warning in result.warnings:
        context.log.warning(warning)
    context.log.info(
        f"{contract.name} ({load}): "
        f"{result.rows_read} rows read from {len(result.files)} files, "
        f"{result.rows_loaded} loaded, {result.rows_quarantined} quarantined, "
        f"{result.duplicates_removed} exact duplicates removed, {result.rows_suppressed} suppressed"
    )


def withhold_person_ids(reason: str | None) -> str | None:
    """A quarantine reason for Dagster's run history (out of a deletion's reach): the value after
    a person's id column (`duplicate key order_id O1 ...`) withheld; the quarantine table keeps it."""
    import re

    from dagster_project.privacy.identifiers import ID_KINDS

    if reason is None:
        return None
    return re.sub(rf"\b({'|'.join(ID_KINDS)})(:?) (\S+)", r"\1\2 (withheld)", reason)


def _load_metadata(conn, contract: SourceEntity, result: IngestionResult, load: str, settings: Settings) -> dict:
    preview = conn.execute(
        f"select _source_file, _source_line, reason from {contract.quarantine_table} "
        "order by _source_file, _source_line limit 10"
    ).df()
    preview["reason"] = [withhold_person_ids(reason) for reason in preview["reason"]]
    return {
        "dagster/row_count": result.table_rows,
        "load": load,
        "files": len(result.files),
        "files_rejected": len(result.rejected_files),
        "files_ignored": len(result.ignored_files),
        "rows_loaded": result.rows_loaded,
        "rows_read": result.rows_read,
        "rows_quarantined": result.rows_quarantined,
        "duplicates_removed": result.duplicates_removed,
        "rows_suppressed": result.rows_suppressed,
        "quarantine_reasons": dg.MetadataValue.json(result.reasons),
        "quarantine_preview": dg.MetadataValue.md(preview.to_markdown(index=False)) if len(preview) else "none",
        "reconciliation_per_file": dg.MetadataValue.md(reconciliation_table(result, settings)),
        "extra_columns": dg.MetadataValue.json(result.extra_columns),
        # files in the landing folder that are not deliveries (never read), and
        # delivery files whose rows were all quarantined because of the file itself
        "ignored_files": dg.MetadataValue.json(_relative(result.ignored_files, settings)),
        "rejected_files": dg.MetadataValue.json(_relative(result.rejected_files, settings)),
        "warnings": dg.MetadataValue.json(result.warnings),
    }


def _reconciliation_check(result: IngestionResult, settings: Settings) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=RECONCILED_CHECK_NAME,
        passed=result.is_reconciled,
        metadata={
            "files": len(result.per_file),
            "rows_read": result.rows_read,
            "rows_loaded": result.rows_loaded,
            "rows_quarantined": result.rows_quarantined,
            "duplicates_removed": result.duplicates_removed,
            "rows_suppressed": result.rows_suppressed,
            "unreconciled_files": dg.MetadataValue.json(result.unreconciled_files),
            "rejected_files": dg.MetadataValue.json(_relative(result.rejected_files, settings)),
        },
    )


def _quarantine_check(result: IngestionResult, settings: Settings) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=QUARANTINE_CHECK_NAME,
        passed=result.quarantine_rate <= settings.max_quarantine_rate,
        metadata={
            "quarantine_rate": result.quarantine_rate,
            "max_quarantine_rate": settings.max_quarantine_rate,
            "top_reasons": dg.MetadataValue.json(result.reasons),
        },
    )


def _raw_expectations(context: dg.AssetExecutionContext, conn, contract: SourceEntity,
                      settings: Settings) -> dg.AssetCheckResult:
    try:
        return run_raw_check(conn, contract, settings, log=context.log)
    except Exception as exc:  # a broken validation must not hide the load; report it
        context.log.exception(f"{contract.name}: raw expectations could not run")
        return dg.AssetCheckResult(
            check_name=RAW_CHECK_NAME,
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"error": f"{exc.__class__.__name__}: {exc}"},
        )


def build_ingestion_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    return [build_ingestion_asset(contract, settings) for contract in CONTRACTS]
