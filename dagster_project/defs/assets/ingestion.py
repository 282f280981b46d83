"""One ingestion asset per source entity: landing files -> raw.<system>__<entity> (+ quarantine)."""


import os

import dagster as dg
from dagster_duckdb import DuckDBResource

from dagster_project.contracts import CONTRACTS, SourceEntity
from dagster_project.ingestion import ingest_entity
from dagster_project.settings import Settings


# Above this share of quarantined rows an entity's check fails: a few bad rows are expected from
# real sources, a large share means a changed export or a contract bug.
MAX_QUARANTINE_RATE = float(os.environ.get("RCL_MAX_QUARANTINE_RATE", "0.05"))


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


def build_ingestion_asset(contract: SourceEntity, settings: Settings) -> dg.AssetsDefinition:
    key = raw_asset_key(contract.system, contract.entity)

    @dg.asset(
        key=key,
        group_name="ingestion",
        kinds={"duckdb"},
        tags={"source_system": contract.system},
        description=f"{contract.description} Loaded from {contract.landing_glob('landing')} into {contract.raw_table}; "
        f"rows breaking the contract go to {contract.quarantine_table}.",
        metadata={"dagster/table_name": contract.raw_table, "dagster/column_schema": _table_schema(contract)},
        check_specs=[
            dg.AssetCheckSpec(
                "rows_reconciled",
                asset=key,
                description="Every row read is either loaded or quarantined.",
            ),
            dg.AssetCheckSpec(
                "quarantine_rate",
                asset=key,
                description=f"At most {MAX_QUARANTINE_RATE:.0%} of the rows read are quarantined.",
            ),
        ],
    )
    def _ingest(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
        with warehouse.get_connection() as conn:
            result = ingest_entity(conn, contract, settings.landing_dir)
            preview = conn.execute(
                f"select _source_file, _source_line, reason from {contract.quarantine_table} "
                "order by _source_file, _source_line limit 10"
            ).df()
        for warning in result.warnings:
            context.log.warning(warning)
        context.log.info(
            f"{contract.name}: {result.rows_read} rows read from {len(result.files)} files, "
            f"{result.rows_loaded} loaded, {result.rows_quarantined} quarantined"
        )
        yield dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.rows_loaded,
                "files": len(result.files),
                "rows_read": result.rows_read,
                "rows_quarantined": result.rows_quarantined,
                "quarantine_reasons": dg.MetadataValue.json(result.reasons),
                "quarantine_preview": dg.MetadataValue.md(preview.to_markdown(index=False)) if len(preview) else "none",
                "warnings": dg.MetadataValue.json(result.warnings),
            }
        )
        yield dg.AssetCheckResult(
            check_name="rows_reconciled",
            passed=result.is_reconciled,
            metadata={
                "rows_read": result.rows_read,
                "rows_loaded": result.rows_loaded,
                "rows_quarantined": result.rows_quarantined,
            },
        )
        yield dg.AssetCheckResult(
            check_name="quarantine_rate",
            passed=result.quarantine_rate <= MAX_QUARANTINE_RATE,
            metadata={
                "quarantine_rate": result.quarantine_rate,
                "max_quarantine_rate": MAX_QUARANTINE_RATE,
                "top_reasons": dg.MetadataValue.json(result.reasons),
            },
        )

    return _ingest


def build_ingestion_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    return [build_ingestion_asset(contract, settings) for contract in CONTRACTS]
