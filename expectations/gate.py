"""The gate of one feature table, without Dagster (`run_gate`, wrapped by the Dagster check in
dagster_project/defs/checks/features.py): invariants, pinned overrides and profile drift against
the baseline; stores the result, updates the baseline and describes each failure.
Design: docs/adr/blocking-feature-gates.md."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from dagster_project.feast_ext.feature_tables import feature_table_path
from dagster_project.settings import Settings
from expectations.profile import (
    baseline_path,
    compute_profile,
    drift_expectations,
    latest_rows,
    read_frame,
    load_baseline,
    Overrides,
    load_overrides,
    pinned_expectations,
    save_baseline,
    spec_for,
)
from expectations.runner import FailedExpectation, merge_summaries, validate_dataframe
from expectations.suites import TableSpec, invariant_suite

ACCEPT_COMMAND = "rcl baseline accept {table} --data-dir {data_dir}"
ACCEPT_PYTHON = "python -m expectations.baseline accept --table {table} --data-dir {data_dir}"
SAMPLE_ROWS = 5
# Expectations that only ask whether a value matches a pattern: validated on each column's
# distinct values, not on every row (GX turns every row into a Python string first: ~0.5 GB
# per column of a year of 20k products' features). Their unexpected counts are distinct values.
ON_DISTINCT_VALUES = {"expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex"}


@dataclass
class GateOutcome:
    table: str
    passed: bool
    rows: int
    entities: int
    baseline: str                      # what the run did with the baseline, in words
    baseline_file: Path
    evaluated: int
    failures: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    null_columns: list[str] = field(default_factory=list)
    accept: str | None = None          # the command that accepts a profile drift
    result_path: Path | None = None
    page_path: Path | None = None


def accept_command(settings: Settings, table: str) -> str:
    python = ACCEPT_PYTHON.format(table=table, data_dir=settings.data_dir)
    if settings.expectations_path != settings.data_dir / "expectations":
        python += f" --expectations-dir {settings.expectations_path}"
    return f"{ACCEPT_COMMAND.format(table=table, data_dir=settings.data_dir)}  (or: {python})"


def distinct_values(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One column per name holding its distinct non-null values, shorter columns padded with
    nulls (which GX's pattern expectations skip)."""
    values = {}
    for name in dict.fromkeys(columns):
        if name not in frame.columns:
            continue
        series = frame[name]
        if isinstance(series.dtype, pd.CategoricalDtype):
            codes = pd.unique(series.cat.codes.to_numpy())
            values[name] = pd.Series(series.cat.categories[codes[codes >= 0]], dtype=object)
        else:
            values[name] = pd.Series(series.dropna().unique(), dtype=object)
    return pd.DataFrame(values)


def run_gate(settings: Settings, table: str, *, now: datetime | None = None) -> GateOutcome:
    """Validate one feature table: invariants and pinned bounds on every row, then the profile of
    its latest row per entity against the baseline; store the result and roll the baseline."""
    from expectations.report import store_validation

    spec = spec_for(table)
    path = feature_table_path(settings, table)
    if not path.exists():
        raise FileNotFoundError(f"{table}: feature table {path} does not exist (was the dbt model built?)")
    expectations_dir = settings.expectations_path
    overrides = load_overrides(expectations_dir, table)
    baseline = load_baseline(expectations_dir, table)
    accept = accept_command(settings, table)

    # Every row: invariants and pinned bounds; then the frame gives the latest row per entity
    # (the profile's scope) and is released.
    frame = read_frame(path)
    rows = len(frame)
    summaries, failures = _validate_every_row(frame, table, spec, overrides, accept, now)
    required = set(spec.required)
    null_columns = [c for c in frame.columns if c not in required and rows and frame[c].isna().all()]
    snapshot = latest_rows(frame, spec)
    del frame

    profile = compute_profile(snapshot, spec, rows)
    notes = [f"{rows} rows validated against the invariants" + (f" and the bounds pinned in {overrides.path}" if overrides.path else ""),
             f"profile of the latest row per {spec.entity}: {len(snapshot)} entities"]
    if rows == 0:
        notes.append("the table is empty (source not delivered?): nothing to publish")
    if null_columns:
        notes.append(f"entirely null (null: source not delivered?): {', '.join(null_columns)}")
    if baseline is not None:
        drift_summaries, drift_failures, drift_notes = _compare_with_baseline(
            snapshot, table, spec, baseline, overrides, profile, accept)
        summaries += drift_summaries
        failures += drift_failures
        notes += drift_notes
    summary = merge_summaries(table, summaries)

    target = baseline_path(expectations_dir, table)
    drifted = any(f["gate"] == "profile" for f in failures)
    status = _baseline_status(baseline, summary.success, drifted, overrides.roll_forward, target, accept)
    notes.insert(0, status)
    result_path, page_path = store_validation(settings.data_dir / "validation" / table, f"{table} expectations",
                                              summary.result_json, notes)
    if summary.success and (baseline is None or overrides.roll_forward):
        save_baseline(expectations_dir, table, profile, "first run" if baseline is None else "passing run",
                      validation_result=result_path.name)
    return GateOutcome(
        table=table, passed=summary.success, rows=rows, entities=len(snapshot), baseline=status,
        baseline_file=target, evaluated=summary.evaluated, failures=failures, notes=notes,
        null_columns=null_columns, accept=accept if drifted else None, result_path=result_path, page_path=page_path,
    )


def _validate_every_row(frame: pd.DataFrame, table: str, spec: TableSpec, overrides: Overrides, accept: str,
                        now: datetime | None) -> tuple[list, list[dict]]:
    """Invariants and pinned bounds on every row (pattern rules on distinct values): the
    summaries and the described failures."""
    import great_expectations as gx

    invariants = invariant_suite(table, frame, now).expectations
    on_rows = [e for e in invariants if e.expectation_type not in ON_DISTINCT_VALUES] + pinned_expectations(overrides)
    on_values = [e for e in invariants if e.expectation_type in ON_DISTINCT_VALUES]
    summaries = [validate_dataframe(frame, table, suite=gx.ExpectationSuite(name=f"{table}_invariants", expectations=on_rows))]
    if on_values:
        summaries.append(validate_dataframe(
            distinct_values(frame, [e.column for e in on_values]), f"{table}_values",
            suite=gx.ExpectationSuite(name=f"{table}_invariants_on_values", expectations=on_values)))
    failures = [_describe(f, spec, frame, table, accept) for summary in summaries for f in summary.failed]
    return summaries, failures


def _compare_with_baseline(snapshot: pd.DataFrame, table: str, spec: TableSpec, baseline: dict, overrides: Overrides,
                           profile: dict, accept: str) -> tuple[list, list[dict], list[str]]:
    """The profile's drift expectations on the latest rows: summaries, failures and notes."""
    import great_expectations as gx

    drift, notes = drift_expectations(baseline, overrides, profile)
    if not drift:
        return [], [], notes
    summary = validate_dataframe(snapshot, table, suite=gx.ExpectationSuite(name=f"{table}_profile", expectations=drift))
    return [summary], [_describe(f, spec, snapshot, table, accept) for f in summary.failed], notes


def _baseline_status(baseline: dict | None, passed: bool, drifted: bool, roll_forward: bool, target: Path,
                     accept: str) -> str:
    """What the run did with the baseline, in words."""
    if baseline is None:
        return (f"first run: baseline recorded ({target}); only invariants gated this run" if passed
                else "first run: no baseline yet, and none recorded because the invariants (or pinned bounds) failed")
    since = f"compared with the baseline recorded at {baseline.get('recorded_at', '?')} ({baseline.get('recorded_by', '?')})"
    if passed:
        return since + (": passed, baseline rolled forward to this run" if roll_forward
                        else ": passed, baseline kept (roll_forward: false in the overrides)")
    if drifted:
        return since + f": profile drift, baseline kept; if the change is intended: {accept}"
    return since + ": invariants (or pinned bounds) failed, baseline kept"


# ---- reporting ---------------------------------------------------------------------------------

def _describe(f: FailedExpectation, spec: TableSpec, frame: pd.DataFrame, table: str, accept: str) -> dict:
    """A failed expectation as the check reports it: which rule, observed vs allowed, by how
    much, a message, sample rows, and what to do about it."""
    meta = f.meta or {}
    gate = meta.get("gate", "invariant")
    rule = meta.get("rule", f.expectation)
    column = f.column or meta.get("column")
    out: dict[str, Any] = {"gate": gate, "rule": rule, "expectation": f.expectation, "column": column,
                           "unexpected_count": f.unexpected_count, "sample": f.unexpected_sample}
    describe = _DESCRIBE_BY_RULE.get(rule, _describe_bound)
    describe(out, f, meta, column, spec)
    out["to_accept"] = _how_to_accept(gate, meta, accept)
    out["sample_rows"] = _sample_rows(f, out, spec, frame)
    return out


def _how_to_accept(gate: str, meta: dict, accept: str) -> str:
    if gate == "profile":
        return accept
    if gate == "pinned":
        return (f"the bound is pinned in {meta.get('why', '').removeprefix('pinned in ')} of the deployment's "
                "expectations directory: change it there")
    return "an invariant cannot be accepted: fix the data or the model"


def _describe_quantiles(out: dict, f: FailedExpectation, meta: dict, column: str | None, spec: TableSpec) -> None:
    """The quantiles outside their range, the worst first, in units of the baseline's spread."""
    kwargs, observed = f.kwargs, f.observed
    if not isinstance(observed, dict):
        _describe_bound(out, f, meta, column, spec)
        return
    spread = meta.get("spread") or 0.0
    worst = None
    outside = {}
    for q, value, (low, high) in zip(observed.get("quantiles", []), observed.get("values", []),
                                     kwargs["quantile_ranges"]["value_ranges"]):
        name = f"p{round(q * 100):02d}"
        if value is None:
            continue
        by = value - high if value > high else (low - value if value < low else 0.0)
        if by > 0:
            outside[name] = {"observed": value, "allowed": [low, high], "baseline": meta["baseline"].get(name),
                             "by": _num(by), "spreads": _num(by / spread) if spread else None}
            if worst is None or by > outside[worst]["by"]:
                worst = name
    out.update(observed=dict(zip((f"p{round(q * 100):02d}" for q in observed.get("quantiles", [])), observed.get("values", []))),
               allowed=kwargs["quantile_ranges"], baseline=meta.get("baseline"), by=outside)
    if not worst:
        out["message"] = f"quantiles of {column} could not be computed: {observed}"
        return
    w = outside[worst]
    direction = "above" if w["observed"] > w["allowed"][1] else "below"
    out["message"] = (f"{worst} of {column} is {_fmt(w['observed'])} (allowed {_fmt(w['allowed'][0])} to "
                      f"{_fmt(w['allowed'][1])}, baseline {_fmt(w['baseline'])}): {_fmt(w['by'])} {direction} the range, "
                      f"{_fmt(w['spreads'])}x the baseline's p1-p99 spread ({_fmt(spread)}); tolerance "
                      f"{meta['tolerance']} spreads")
    out["direction"] = "up" if direction == "above" else "down"
    others = [f"{q} {_fmt(v['observed'])} (baseline {_fmt(v['baseline'])})" for q, v in outside.items() if q != worst]
    if others:
        out["message"] += f"; also outside: {', '.join(others)}"


def _describe_null_rate(out: dict, f: FailedExpectation, meta: dict, column: str | None, spec: TableSpec) -> None:
    kwargs, observed = f.kwargs, f.observed
    populated = float(observed) if observed is not None else 0.0
    null_rate = 1.0 - populated
    low, high = 1.0 - kwargs["max_value"], 1.0 - kwargs["min_value"]
    by = null_rate - high if null_rate > high else low - null_rate
    out.update(observed=_num(null_rate), allowed=[_num(low), _num(high)], baseline=meta.get("baseline"), by=_num(by))
    out["message"] = (f"null rate of {column} is {null_rate:.3f} (allowed {low:.3f} to {high:.3f}, baseline "
                      f"{meta.get('baseline'):.3f}): {by:.3f} points {'above' if null_rate > high else 'below'}")
    if populated == 0.0:
        out["message"] += "; the column is entirely null now but was populated in the baseline: did a source stop delivering?"
    out["direction"] = "up" if null_rate > high else "down"


def _describe_entities(out: dict, f: FailedExpectation, meta: dict, column: str | None, spec: TableSpec) -> None:
    kwargs, observed = f.kwargs, f.observed
    base = meta.get("baseline")
    by = kwargs["min_value"] - observed
    out.update(observed=observed, allowed={"min": kwargs["min_value"]}, baseline=base, by=by)
    out["message"] = (f"{observed} {spec.entity}s (allowed at least {kwargs['min_value']}, baseline {base}): "
                      f"{1 - observed / base:.1%} fewer than the baseline; tolerance {meta['tolerance']:.0%}")


def _describe_share_true(out: dict, f: FailedExpectation, meta: dict, column: str | None, spec: TableSpec) -> None:
    kwargs, observed = f.kwargs, f.observed
    low, high = kwargs["min_value"], kwargs["max_value"]
    by = observed - high if observed > high else low - observed
    out.update(observed=_num(observed), allowed=[low, high], baseline=meta.get("baseline"), by=_num(by))
    out["message"] = (f"share of true in {column} is {observed:.3f} (allowed {low:.3f} to {high:.3f}, baseline "
                      f"{meta.get('baseline'):.3f}): {by:.3f} points outside")
    out["direction"] = "up" if observed > high else "down"


def _describe_known_values(out: dict, f: FailedExpectation, meta: dict, column: str | None, spec: TableSpec) -> None:
    unexpected = (f.unexpected_percent or 0.0) / 100
    allowed = meta["tolerance"]
    out.update(observed=_num(unexpected), allowed={"max_share_of_new_values": allowed}, by=_num(unexpected - allowed))
    out["message"] = (f"{unexpected:.1%} of {column} values were never seen in the baseline (allowed "
                      f"{allowed:.0%}), e.g. {f.unexpected_sample}")


def _describe_value_share(out: dict, f: FailedExpectation, meta: dict, column: str | None, spec: TableSpec) -> None:
    share = 1.0 - (f.unexpected_percent or 0.0) / 100
    value, mostly = meta.get("value"), f.kwargs.get("mostly")
    out.update(observed=_num(share), allowed={"min_share": mostly}, baseline=meta.get("baseline"),
               by=_num(mostly - share), value=value)
    out["message"] = (f"share of {value!r} in {column} is {share:.3f} (allowed at least {mostly:.3f}, baseline "
                      f"{meta.get('baseline'):.3f}): {mostly - share:.3f} points below")


def _describe_missing_column(out: dict, f: FailedExpectation, meta: dict, column: str | None, spec: TableSpec) -> None:
    out["message"] = f"column {column} of the baseline is missing from the table"


def _describe_bound(out: dict, f: FailedExpectation, meta: dict, column: str | None, spec: TableSpec) -> None:
    """Any other rule (an invariant or a pinned bound): the rule, how many rows or values break it, why."""
    kwargs, observed = f.kwargs, f.observed
    allowed = {k: _plain(v) for k, v in kwargs.items() if k in ("min_value", "max_value", "regex", "strict_min", "column_list",
                                                                 "column_A", "column_B", "or_equal") and v is not None}
    out.update(observed=_plain(observed) if observed is not None else None, allowed=allowed)
    where = column or ", ".join(kwargs.get("column_list") or [c for c in (kwargs.get("column_A"), kwargs.get("column_B")) if c])
    count = f.unexpected_count if f.unexpected_count is not None else "?"
    unit = "distinct value(s)" if f.expectation in ON_DISTINCT_VALUES else "row(s)"
    out["message"] = f"{out['rule']} on {where or 'the table'}: {count} {unit} break it ({meta.get('why', f.expectation)})"
    if f.unexpected_sample:
        out["message"] += f", e.g. {f.unexpected_sample}"


_DESCRIBE_BY_RULE = {
    "quantiles": _describe_quantiles,
    "null_rate": _describe_null_rate,
    "entities": _describe_entities,
    "share_true": _describe_share_true,
    "known_values": _describe_known_values,
    "value_share": _describe_value_share,
    "exists": _describe_missing_column,
}


def _sample_rows(f: FailedExpectation, described: dict, spec: TableSpec, frame: pd.DataFrame) -> list[dict]:
    kwargs, rule, column = f.kwargs, described["rule"], described["column"]
    keys = [c for c in (spec.entity, spec.timestamp) if c in frame.columns]
    try:
        if f.expectation in ("expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique"):
            cols = list(kwargs.get("column_list") or [column])
            rows, show = frame[frame.duplicated(cols, keep=False)].sort_values(cols), cols
        elif f.expectation == "expect_column_pair_values_a_to_be_greater_than_b":
            a, b = kwargs["column_A"], kwargs["column_B"]
            rows, show = frame[frame[a] < frame[b]], [a, b]
        elif column is None or column not in frame.columns:
            return []
        elif f.expectation == "expect_column_values_to_not_be_null":
            rows, show = frame[frame[column].isna()], [column]
        elif f.expectation == "expect_column_values_to_be_between":
            values = frame[column]
            mask = pd.Series(False, index=frame.index)
            if kwargs.get("min_value") is not None:
                mask |= (values <= kwargs["min_value"]) if kwargs.get("strict_min") else (values < kwargs["min_value"])
            if kwargs.get("max_value") is not None:
                mask |= values > kwargs["max_value"]
            rows, show = frame[mask.fillna(False)], [column]
        elif f.expectation in ON_DISTINCT_VALUES:
            rows, show = frame[frame[column].isin(f.unexpected_sample)], [column]
        elif rule == "quantiles":
            values = pd.to_numeric(frame[column], errors="coerce")
            pick = values.nlargest if described.get("direction") == "up" else values.nsmallest
            rows, show = frame.loc[pick(SAMPLE_ROWS).index], [column]
        elif rule == "null_rate":
            nulls = frame[column].isna()
            rows, show = frame[nulls if described.get("direction") == "up" else ~nulls], [column]
        elif rule == "share_true":
            rows, show = frame[frame[column] == (1.0 if described.get("direction") == "up" else 0.0)], [column]
        elif rule == "known_values":
            rows, show = frame[frame[column].notna() & ~frame[column].astype(str).isin(kwargs["value_set"])], [column]
        elif rule == "value_share":
            rows, show = frame[frame[column].notna() & (frame[column].astype(str) != described.get("value"))], [column]
        else:
            return []
    except (KeyError, TypeError, ValueError):
        return []  # a sample is a courtesy: never let it hide the failure itself
    columns = list(dict.fromkeys([*keys, *show]))
    records = rows[columns].head(SAMPLE_ROWS).astype(object).to_dict("records")
    return [{k: _plain(v) for k, v in record.items()} for record in records]


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (int, float, str, bool)):
        return value
    return str(value)


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else round(value, 6)


def _fmt(value) -> str:
    if value is None:
        return "?"
    value = float(value)
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.1f}"
