"""Great Expectations on every raw source table, generated from its contract (non-blocking).

The suite (expectations/raw_suites.py) runs on a bounded, seeded sample of the table: the hard
contract rules were already enforced on every row by ingestion (bad rows are in quarantine), so
this is an independent re-assertion and a place to see the table's shape, not the gate itself.
The check is a spec of the ingestion asset and is evaluated right after the load."""

from __future__ import annotations

import dagster as dg

from dagster_project.contracts import SourceEntity
from dagster_project.settings import Settings

RAW_CHECK_NAME = "contract_expectations"


def raw_check_spec(contract: SourceEntity, key: dg.AssetKey) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        RAW_CHECK_NAME,
        asset=key,
        blocking=False,
        description=(
            f"Great Expectations suite generated from the {contract.name} contract (columns, types, keys unique "
            "per file and not null, accepted values, ranges, event time not in the future) on a seeded sample."
        ),
    )


def run_raw_check(conn, contract: SourceEntity, settings: Settings, log=None) -> dg.AssetCheckResult:
    from expectations.raw_suites import RAW_SAMPLE_ROWS, raw_suite, sample_query, type_mismatches
    from expectations.report import store_validation
    from expectations.runner import validate_dataframe

    total = conn.execute(f"select count(*) from {contract.raw_table}").fetchone()[0]
    df = conn.execute(sample_query(contract)).df()
    summary = validate_dataframe(df, f"raw_{contract.name}", suite=raw_suite(contract))
    types = type_mismatches(conn, contract)
    sampled = len(df) < total
    notes = [
        f"Validated {len(df)} of {total} rows" + (f" (seeded reservoir sample of at most {RAW_SAMPLE_ROWS})" if sampled else " (all rows)") + ".",
        "The hard contract rules are enforced on every row by ingestion; rows breaking them are in "
        f"{contract.quarantine_table}.",
    ]
    if types:
        notes.append(f"Column types differing from the contract: {types}")
    json_path, html_path = store_validation(
        settings.data_dir / "validation" / "raw" / contract.name, f"raw {contract.name}", summary.result_json, notes
    )
    failures = [
        {"expectation": f.expectation, "column": f.column, "unexpected_count": f.unexpected_count,
         "sample": f.unexpected_sample}
        for f in summary.failed
    ]
    failures += [{"expectation": "column_type_matches_contract", **t} for t in types]
    if log is not None:
        for failure in failures:
            log.warning(f"{contract.name}: {failure}")
    return dg.AssetCheckResult(
        check_name=RAW_CHECK_NAME,
        passed=summary.success and not types,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rows_in_table": total,
            "rows_validated": len(df),
            "sampled": sampled,
            "scope": notes[0] + " " + notes[1],
            "expectations_evaluated": summary.evaluated + 1,
            "expectations_failed": len(failures),
            "failures": dg.MetadataValue.json(failures),
            "validation_result": dg.MetadataValue.path(str(json_path)),
            "validation_page": dg.MetadataValue.url(html_path.as_uri()),
        },
    )
