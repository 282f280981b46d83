"""Asset checks after each online publish: sampled entities' online values equal the latest rows
of the offline feature table (dagster_project/serving/consistency.py); a mismatch fails the check
with examples."""

import dagster as dg

from dagster_project.defs.assets.feast import online_asset_key
from dagster_project.feast_ext.feature_tables import FEATURE_VIEWS
from dagster_project.settings import Settings

SAMPLE_SIZE = 200


def build_consistency_checks(settings: Settings, sample_size: int = SAMPLE_SIZE) -> list[dg.AssetChecksDefinition]:
    def build(view_name: str) -> dg.AssetChecksDefinition:
        @dg.asset_check(
            asset=online_asset_key(view_name),
            name="online_equals_offline",
            description=f"{sample_size} sampled entities: the online values equal the latest offline row "
                        "(a newer pushed value online is counted, not failed).",
        )
        def online_equals_offline(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
            from dagster_project.serving.consistency import check_online_consistency

            result = check_online_consistency(settings, [view_name], sample_size=sample_size)[view_name]
            return dg.AssetCheckResult(
                passed=result.passed,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={
                    "sampled_entities": result.sampled,
                    "compared_values": result.compared_values,
                    "pushed_newer": result.pushed_newer,
                    "mismatches": result.mismatches,
                    "examples": dg.MetadataValue.json([{k: str(v) if k != "entity" else v for k, v in e.items()}
                                                       for e in result.examples]),
                },
            )

        return online_equals_offline

    return [build(view) for view in FEATURE_VIEWS]
