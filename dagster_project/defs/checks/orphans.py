"""The orphan-rate check on the audit model: referential problems are data, kept and counted
(`audit.orphans`, `audit.orphan_rates`); a kind fails this check only above the configured rate
(settings.max_orphan_rate, given to dbt as RCL_MAX_ORPHAN_RATE). Nothing depends on the check, so a
breach is reported without holding back any model, feature or publication."""

import dagster as dg

from dagster_project.defs.resources import RclSettings

ORPHAN_RATES_KEY = dg.AssetKey(["audit", "orphan_rates"])


def build_orphan_checks() -> list[dg.AssetChecksDefinition]:
    @dg.asset_check(
        asset=ORPHAN_RATES_KEY,
        name="orphan_rate_within_limit",
        description="Per kind, orphan rows / child rows is at most max_orphan_rate (RCL_MAX_ORPHAN_RATE).",
    )
    def orphan_rate_within_limit(context: dg.AssetCheckExecutionContext, rcl_settings: RclSettings) -> dg.AssetCheckResult:
        import duckdb

        settings = rcl_settings.settings
        with duckdb.connect(str(settings.warehouse_path), read_only=True,
                            config={"memory_limit": settings.duckdb_memory_limit}) as conn:
            rows = conn.execute(
                "select orphan_kind, orphan_rows, child_rows, orphan_rate, max_orphan_rate "
                "from audit.orphan_rates order by orphan_kind"
            ).fetchall()
        above = {kind: rate for kind, _, _, rate, limit in rows if rate > limit}
        return dg.AssetCheckResult(
            passed=not above,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "max_orphan_rate": rows[0][4] if rows else None,
                "kinds_above_limit": dg.MetadataValue.json(above),
                "orphans_by_kind": dg.MetadataValue.json({k: {"orphans": o, "rows": n, "rate": r} for k, o, n, r, _ in rows}),
            },
        )

    return [orphan_rate_within_limit]
