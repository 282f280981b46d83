"""A rejected delivery: what the ingestion asset reports (the raw table keeps its last good load,
downstream runs on it) and the `delivery_accepted` check that fails the run for that source
only (docs/failure_isolation.md)."""

import dagster as dg

from dagster_project.contracts import CONTRACTS, SourceEntity
from dagster_project.settings import Settings

DELIVERY_CHECK_NAME = "delivery_accepted"
REJECTED_KEY = "delivery_rejected"


def rejected_delivery(conn, contract: SourceEntity, key: dg.AssetKey, check_names: list[str], error: Exception):
    """Events of an ingestion step whose delivery was rejected: the asset at its last good load,
    and each of its checks failed with the reason (Dagster requires a result for each)."""
    exists = conn.execute(
        "select count(*) from information_schema.tables where table_schema || '.' || table_name = ?",
        [contract.raw_table],
    ).fetchone()[0]
    if not exists:
        # No good load yet (a new deployment): empty tables of the contract's layout, so that the
        # models reading this source build without it instead of failing with the rest of the graph.
        # Creating a table where none was is not replacing a load.
        from dagster_project.ingestion.tables import quarantine_table_ddl, raw_table_ddl

        conn.execute("create schema if not exists raw")
        conn.execute(raw_table_ddl(contract, contract.raw_table).replace("create or replace table", "create table if not exists"))
        conn.execute(quarantine_table_ddl(contract.quarantine_table).replace("create or replace table", "create table if not exists"))
    rows = conn.execute(f"select count(*) from {contract.raw_table}").fetchone()[0] if exists else 0
    reason = f"{error.__class__.__name__}: {error}"
    yield dg.MaterializeResult(
        metadata={
            REJECTED_KEY: reason,
            "load": "rejected: the table keeps its last good load" if exists else "rejected: no good load yet",
            "dagster/row_count": rows,
        }
    )
    for name in check_names:
        yield dg.AssetCheckResult(asset_key=key, check_name=name, passed=False, metadata={REJECTED_KEY: reason})


def build_delivery_check(contract: SourceEntity) -> dg.AssetChecksDefinition:
    from dagster_project.defs.assets.ingestion import raw_asset_key

    key = raw_asset_key(contract.system, contract.entity)

    @dg.asset_check(
        asset=key,
        name=DELIVERY_CHECK_NAME,
        description="The last load took the delivery; fails the run (and nothing else) when it was rejected.",
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        event = context.instance.get_latest_materialization_event(key)
        metadata = event.asset_materialization.metadata if event and event.asset_materialization else {}
        if REJECTED_KEY in metadata:
            raise dg.Failure(
                description=f"{contract.name}: delivery rejected, downstream models use its last good load. "
                f"{metadata[REJECTED_KEY].value}",
                metadata={REJECTED_KEY: metadata[REJECTED_KEY].value},
            )
        return dg.AssetCheckResult(passed=True)

    return _check


def build_delivery_checks(settings: Settings) -> list[dg.AssetChecksDefinition]:
    return [build_delivery_check(contract) for contract in CONTRACTS]
