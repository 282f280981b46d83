"""Great Expectations gates on the feature tables. Blocking: when one fails, the online-store
materialization downstream does not run and the online store keeps its last good values."""


import json
from datetime import datetime, timezone

import dagster as dg
import pandas as pd

from dagster_project.defs.assets.dbt import feature_model_key
from dagster_project.feature_store import FEATURE_VIEWS, feature_table_path
from dagster_project.settings import Settings


def build_feature_check(view_name: str, settings: Settings) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=feature_model_key(view_name),
        name=f"{view_name}_expectations",
        blocking=True,
        description=f"Great Expectations suite expectations/suites.py::{view_name}_suite on the Parquet export.",
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        from expectations.runner import validate_dataframe

        df = pd.read_parquet(feature_table_path(settings, view_name))
        summary = validate_dataframe(df, view_name)

        results_dir = settings.data_dir / "validation" / view_name
        results_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        result_path = results_dir / f"{stamp}.json"
        result_path.write_text(json.dumps(summary.result_json, indent=1, default=str))

        failures = [
            {
                "expectation": f.expectation,
                "column": f.column,
                "unexpected_count": f.unexpected_count,
                "sample": f.unexpected_sample,
            }
            for f in summary.failed
        ]
        for failure in failures:
            context.log.error(f"{view_name}: {failure}")
        return dg.AssetCheckResult(
            passed=summary.success,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "rows": len(df),
                "expectations_evaluated": summary.evaluated,
                "expectations_failed": len(summary.failed),
                "failures": dg.MetadataValue.json(failures),
                "validation_result": dg.MetadataValue.path(str(result_path)),
            },
        )

    return _check


def build_feature_checks(settings: Settings) -> list[dg.AssetChecksDefinition]:
    return [build_feature_check(name, settings) for name in FEATURE_VIEWS]
