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
    meta: dict[str, Any] = field(default_factory=dict)
    observed: Any = None
    unexpected_percent: float | None = None


@dataclass
class ValidationSummary:
    suite: str
    success: bool
    evaluated: int
    failed: list[FailedExpectation]
    result_json: dict[str, Any]


def validate_dataframe(df: pd.DataFrame, suite_name: str, suite=None, *, by_columns: bool = True) -> ValidationSummary:
    """Validate `df` against `suite` (a gx.ExpectationSuite), by default the invariants
    SUITES[suite_name](df).

    by_columns (default): each group of expectations on the same columns is validated on a frame
    of just those columns. GX's pandas engine copies the frame it validates for every
    expectation's domain: on the whole frame that is ~2 GB of temporaries for a year of 20k
    products' features (measured), on a frame of the expectation's own columns a few percent of
    it. Results are the same (tests/test_quality_gates.py); the merged result keeps the suite's
    order of expectations. by_columns=False validates the whole frame at once."""
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    suite = suite if suite is not None else SUITES[suite_name](df)
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = ephemeral_context()
    # a progress bar per column group floods the Dagster and test logs, and tells nothing
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_pandas("frames")
    if not by_columns:
        return _summary(suite_name, [_validate(context, source, df, suite, suite_name)])

    groups: dict[tuple[str, ...], list] = {}
    for expectation in suite.expectations:
        groups.setdefault(_columns_of(expectation), []).append(expectation)
    results = []
    for n, (columns, expectations) in enumerate(groups.items()):
        # a column the frame lacks is left out, so GX reports it missing as it would on the whole frame
        frame = df[[c for c in columns if c in df.columns]]
        part = gx.ExpectationSuite(name=f"{suite.name}__{n}", expectations=[_copy(e) for e in expectations])
        # a data source of its own per group, dropped after: its execution engine keeps every
        # batch it loaded, and with it the frame, for its life; the narrow frames would add up to
        # another copy of the table (measured: 0.7 GB for a year of 20k products)
        group_source = context.data_sources.add_pandas(f"frames__{n}")
        results.append(_validate(context, group_source, frame, part, f"{suite_name}__{n}"))
        context.data_sources.delete(f"frames__{n}")
        del frame, group_source
    return _summary(suite_name, results, order=[_key(e) for e in suite.expectations])


def ephemeral_context():
    """GX's ephemeral context, its project config kept in memory only. GX 1.x re-serializes the
    whole project config to YAML on every data source change (`_save_project_config`), even in
    an ephemeral context that has nowhere to save it; the validation above adds and deletes a
    data source per column group, and those YAML dumps were a third to almost half of a feature
    gate's time (product_features at test scale: 0.67 s -> 0.37 s). The one private GX name of
    the project; tests/test_quality_gates.py fails if a GX upgrade drops it."""
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context._save_project_config = _nothing_to_save
    return context


def _nothing_to_save() -> None:
    return None


def _columns_of(expectation) -> tuple[str, ...]:
    kwargs = expectation.configuration.kwargs
    columns = [kwargs[k] for k in ("column", "column_A", "column_B") if kwargs.get(k)]
    columns += list(kwargs.get("column_list") or [])
    return tuple(dict.fromkeys(columns))


def _copy(expectation):
    kwargs = {k: v for k, v in expectation.configuration.kwargs.items() if k != "batch_id"}
    return expectation.__class__(**kwargs, **({"meta": expectation.meta} if expectation.meta else {}))


def _key(expectation_or_config) -> str:
    config = getattr(expectation_or_config, "configuration", expectation_or_config)
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    return f"{config.type}:{sorted((k, repr(v)) for k, v in kwargs.items())}"


def _validate(context, source, df: pd.DataFrame, suite, asset_name: str):
    batch_definition = source.add_dataframe_asset(asset_name).add_batch_definition_whole_dataframe("whole_table")
    suite = context.suites.add(suite)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": df})
    return batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5})


def _summary(suite_name: str, results: list, order: list[str] | None = None) -> ValidationSummary:
    """One summary (and one result document) of one or more GX validation results."""
    expectation_results = [r for result in results for r in result.results]
    if order is not None:
        rank = {key: i for i, key in enumerate(order)}
        expectation_results.sort(key=lambda r: rank.get(_key(r.expectation_config), len(rank)))
    failed = []
    for r in expectation_results:
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
                meta=dict(config.meta or {}),
                observed=kwargs.get("_observed"),
                unexpected_percent=r.result.get("unexpected_percent"),
            )
        )
    documents = [result.to_json_dict() for result in results]
    result_json = dict(documents[0])
    result_json["results"] = [r.to_json_dict() for r in expectation_results]
    evaluated, passed = len(expectation_results), sum(1 for r in expectation_results if r.success)
    result_json["success"] = all(result.success for result in results)
    result_json["statistics"] = {
        "evaluated_expectations": evaluated,
        "successful_expectations": passed,
        "unsuccessful_expectations": evaluated - passed,
        "success_percent": 100.0 * passed / evaluated if evaluated else None,
    }
    result_json.setdefault("meta", {})
    if len(results) > 1:
        result_json["meta"] = {**result_json["meta"], "expectation_suite_name": suite_name,
                               "validated_by_column_groups": len(results)}
    return ValidationSummary(
        suite=suite_name,
        success=bool(result_json["success"]),
        evaluated=evaluated,
        failed=failed,
        result_json=result_json,
    )


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return value if isinstance(value, (int, float, str, bool, type(None), list, dict)) else str(value)


def merge_summaries(suite_name: str, summaries: list[ValidationSummary]) -> ValidationSummary:
    """One summary of several validations (e.g. invariants on every row and profile
    expectations on the latest row per entity): results in order, one result document."""
    results = [r for s in summaries for r in s.result_json.get("results", [])]
    evaluated = sum(s.evaluated for s in summaries)
    failed = [f for s in summaries for f in s.failed]
    success = all(s.success for s in summaries)
    passed = evaluated - len(failed)
    result_json = {
        "success": success,
        "results": results,
        "statistics": {
            "evaluated_expectations": evaluated,
            "successful_expectations": passed,
            "unsuccessful_expectations": len(failed),
            "success_percent": 100.0 * passed / evaluated if evaluated else None,
        },
        "meta": {"expectation_suite_name": suite_name, "parts": [s.suite for s in summaries]},
    }
    return ValidationSummary(suite=suite_name, success=success, evaluated=evaluated, failed=failed, result_json=result_json)
