"""Validate a pandas dataframe against a suite through an ephemeral GX context."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from expectations.suites import SUITES


@dataclass
class FailedExpectation:
    expectation: str
    column: str | None
    kwargs: dict[str, Any]
    unexpected_count: int | None
    unexpected_sample: list[Any] = field(default_factory=list)


@dataclass
class ValidationSummary:
    suite: str
    success: bool
    evaluated: int
    failed: list[FailedExpectation]
    result_json: dict[str, Any]


def validate_dataframe(df: pd.DataFrame, suite_name: str, suite=None) -> ValidationSummary:
    """Validate `df` against `suite` (a gx.ExpectationSuite), by default SUITES[suite_name]()."""
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    batch_definition = (
        context.data_sources.add_pandas("frames")
        .add_dataframe_asset(suite_name)
        .add_batch_definition_whole_dataframe("whole_table")
    )
    suite = context.suites.add(suite if suite is not None else SUITES[suite_name]())
    batch = batch_definition.get_batch(batch_parameters={"dataframe": df})
    result = batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5})

    failed = []
    for r in result.results:
        if r.success:
            continue
        config = r.expectation_config
        kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id",)}
        if r.result.get("observed_value") is not None:
            kwargs["_observed"] = _plain(r.result.get("observed_value"))
        failed.append(
            FailedExpectation(
                expectation=config.type,
                column=kwargs.get("column"),
                kwargs=kwargs,
                unexpected_count=r.result.get("unexpected_count"),
                unexpected_sample=[_plain(v) for v in r.result.get("partial_unexpected_list", [])][:5],
            )
        )
    return ValidationSummary(
        suite=suite_name,
        success=bool(result.success),
        evaluated=len(result.results),
        failed=failed,
        result_json=result.to_json_dict(),
    )


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return value if isinstance(value, (int, float, str, bool, type(None), list, dict)) else str(value)
