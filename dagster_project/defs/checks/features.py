"""Great Expectations gates on the feature tables (expectations/gate.py). Blocking: when one
fails, the online-store materialization downstream does not run and the online store keeps its
last good values; the other tables still publish."""

import dagster as dg

from dagster_project.defs.assets.dbt import feature_model_key
from dagster_project.feast_ext.feature_tables import FEATURE_VIEWS
from dagster_project.settings import Settings


def build_feature_check(view_name: str, settings: Settings) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=feature_model_key(view_name),
        name=f"{view_name}_expectations",
        blocking=True,
        description=(
            f"Invariants of {view_name} on every row (expectations/suites.py) and, from the second run on, its "
            "profile compared with the deployment's baseline (expectations/profile.py)."
        ),
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        from expectations.gate import run_gate

        outcome = run_gate(settings, view_name)
        failures = without_person_ids(outcome.failures)  # Dagster's history is out of a deletion's reach
        for failure in failures:
            context.log.error(f"{view_name}: {failure['message']} | sample rows: {failure['sample_rows']} | {failure['to_accept']}")
        if outcome.null_columns:
            context.log.warning(f"{view_name}: entirely null (null: source not delivered?): {outcome.null_columns}")
        metadata = {
            "rows": outcome.rows,
            "entities": outcome.entities,
            "expectations_evaluated": outcome.evaluated,
            "expectations_failed": len(outcome.failures),
            "baseline": outcome.baseline,
            "baseline_file": dg.MetadataValue.path(str(outcome.baseline_file)),
            "failures": dg.MetadataValue.json(failures),
            "null_columns": dg.MetadataValue.json({c: "null: source not delivered?" for c in outcome.null_columns}),
            "notes": dg.MetadataValue.md("\n".join(f"- {n}" for n in outcome.notes)),
            "validation_result": dg.MetadataValue.path(str(outcome.result_path)),
            "validation_page": dg.MetadataValue.url(outcome.page_path.as_uri()),
        }
        if outcome.accept:
            metadata["to_accept"] = dg.MetadataValue.md(f"If the change is intended: `{outcome.accept}`, then re-run this check.")
        return dg.AssetCheckResult(passed=outcome.passed, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata)

    return _check


WITHHELD = "(a person's id, withheld)"


def without_person_ids(failures: list[dict]) -> list[dict]:
    """The failures with the ids of people (customer, account, cookie, order and cart ids) in
    their sample rows replaced: Dagster keeps a check's metadata and log in its run history, which
    forgetting a person (`rcl forget`) cannot reach. The failing values and event times stay, and
    find the rows in the feature table."""
    from dagster_project.privacy.identifiers import ID_KINDS

    return [{**failure, "sample_rows": [{k: WITHHELD if k in ID_KINDS and v is not None else v for k, v in row.items()}
                                        for row in failure.get("sample_rows") or []]}
            for failure in failures]


def build_feature_checks(settings: Settings) -> list[dg.AssetChecksDefinition]:
    return [build_feature_check(name, settings) for name in FEATURE_VIEWS]
