"""Profile expectations: what a feature table looks like in *this* deployment, learnt from its own
data (`latest_rows`, `compute_profile`), stored as its baseline, overridden per deployment, and
compared with the last good run (`drift_expectations`). Files and tolerances:
docs/data_quality.md; design: docs/adr/blocking-feature-gates.md.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields, replace
from functools import partial
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from expectations.suites import TABLES, TableSpec, column_kinds

QUANTILES = (0.01, 0.5, 0.99)
NUMERIC_KINDS = ("count", "money", "rate", "ratio", "measure")
# A category with more distinct values than this (brands, say) is profiled by null rate only.
CATEGORY_MAX_VALUES = 50
# Fewer non-null values than this in the baseline make quantiles and shares noise, not a profile.
MIN_VALUES = 30


def quantile_key(q: float) -> str:
    return f"p{round(q * 100):02d}"


@dataclass(frozen=True)
class Tolerances:
    """How far today may move from the baseline before the gate blocks."""

    quantile_spreads: float = 0.5   # a quantile's shift, in units of the baseline's p99 - p1
    null_rate_points: float = 0.10  # absolute change of a column's null rate
    share_points: float = 0.10      # absolute change of a flag's share of true / a category value's share
    new_value_share: float = 0.05   # share of category values never seen in the baseline
    entity_drop: float = 0.20       # fewer entities than the baseline, as a share of it


COLUMN_OVERRIDE_KEYS = {"min", "max", "disable"} | {f.name for f in fields(Tolerances)} - {"entity_drop"}
DISABLE_VALUES = {"null_rate", "quantiles", "share", "values", "exists"}
TOP_LEVEL_KEYS = {"roll_forward", "tolerances", "columns", "disable_entities"}


# ---- profiling -------------------------------------------------------------------------------

def read_frame(path: Path) -> pd.DataFrame:
    """The feature table as pandas, held once: strings as categoricals (ids and categories
    repeat on every day of an entity: half the size), Arrow's buffers released as the columns
    convert and given back afterwards, else the process keeps the Arrow copy too (measured:
    2.5 GiB instead of 1.15 for a year of 20k products). Date columns (`feature_date`) are left
    out: no invariant or profile uses them, and as Python date objects they cost ~300 MB there."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dagster_project.feast_ext.feature_tables import feature_table_is_empty

    schema = pq.read_schema(path)
    table = pq.read_table(path, columns=[f.name for f in schema if not pa.types.is_date(f.type)])
    if feature_table_is_empty(path):
        table = table.slice(0, 0)
    frame = table.to_pandas(strings_to_categorical=True, self_destruct=True, split_blocks=True)
    del table
    pa.default_memory_pool().release_unused()
    return frame


def latest_rows(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """The latest row per entity of the whole table (what the online store publishes), as a
    small frame of its own: strings as plain objects, flags as 0/1 floats (their mean is the
    share of true). Taken from the frame the invariants validated, so the table is read once."""
    kinds = column_kinds(frame, spec)
    latest = frame.groupby(spec.entity, observed=True, sort=False)[spec.timestamp].idxmax()
    snapshot = frame.loc[latest.to_numpy()].reset_index(drop=True)
    flags = [name for name, kind in kinds.items() if kind == "flag"]
    for name in snapshot.columns:
        if name in flags:
            snapshot[name] = snapshot[name].map({True: 1.0, False: 0.0}).astype("float64")
        elif isinstance(snapshot[name].dtype, pd.CategoricalDtype):
            snapshot[name] = snapshot[name].astype(object).where(snapshot[name].notna(), None)
    snapshot.attrs["flags"] = flags
    return snapshot


def compute_profile(snapshot: pd.DataFrame, spec: TableSpec, table_rows: int) -> dict:
    """The profile of the latest rows per entity (`latest_rows`) of a table of `table_rows` rows."""
    kinds = column_kinds(snapshot, spec)
    for name in snapshot.attrs.get("flags", ()):
        kinds[name] = "flag"
    columns: dict[str, dict] = {}
    for name, kind in kinds.items():
        if kind in ("timestamp", "date") or name in spec.not_profiled:
            continue
        series = snapshot[name]
        null_rate = float(series.isna().mean()) if len(series) else 0.0
        values = series.dropna()
        entry: dict[str, Any] = {"kind": kind, "null_rate": _round(null_rate), "values": int(len(values))}
        if kind in NUMERIC_KINDS:
            numbers = pd.to_numeric(values, errors="coerce").astype("float64")
            entry["integer"] = bool(pd.api.types.is_integer_dtype(series.dtype)) or kind == "count"
            if len(numbers):
                # "nearest" is what GX's pandas engine uses for its quantile expectation
                qs = numbers.quantile(list(QUANTILES), interpolation="nearest").tolist()
                entry.update(min=_round(numbers.min()), **{quantile_key(q): _round(v) for q, v in zip(QUANTILES, qs)},
                             max=_round(numbers.max()), mean=_round(numbers.mean()), std=_round(numbers.std(ddof=0)))
        elif kind == "flag":
            entry["share_true"] = _round(values.astype("float64").mean()) if len(values) else None
        elif kind == "category":
            shares = values.astype(str).value_counts(normalize=True)
            entry["distinct"] = int(len(shares))
            if len(shares) <= CATEGORY_MAX_VALUES:
                entry["shares"] = {str(k): _round(v) for k, v in shares.sort_index().items()}
        elif kind == "id":
            entry["distinct"] = int(values.nunique())
        columns[name] = entry
    latest = snapshot[spec.timestamp].max() if spec.timestamp in snapshot.columns and len(snapshot) else None
    return {
        "table": spec.name,
        "scope": f"latest row per {spec.entity} (what the online store publishes)",
        "rows": int(table_rows),
        "entities": int(len(snapshot)),
        "latest_event_timestamp": None if latest is None or pd.isna(latest) else str(latest),
        "columns": columns,
    }


def _round(value) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return None
    return float(round(float(value), 10))


# ---- files of the deployment ------------------------------------------------------------------

def baseline_path(expectations_dir: Path, table: str) -> Path:
    return Path(expectations_dir) / f"{table}.profile.json"


def load_baseline(expectations_dir: Path, table: str) -> dict | None:
    path = baseline_path(expectations_dir, table)
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); fix it or remove it to record a new baseline") from exc


def save_baseline(expectations_dir: Path, table: str, profile: dict, recorded_by: str, **extra) -> Path:
    """Write the baseline atomically; the one it replaces is kept as <table>.profile.previous.json."""
    path = baseline_path(expectations_dir, table)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {**profile, "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "recorded_by": recorded_by, **extra}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n")
    if path.exists():
        path.replace(path.with_name(f"{table}.profile.previous.json"))
    tmp.replace(path)
    return path


def overrides_path(expectations_dir: Path, table: str) -> Path | None:
    found = [p for p in (Path(expectations_dir) / f"{table}.overrides.{ext}" for ext in ("yml", "yaml", "json")) if p.exists()]
    if len(found) > 1:
        raise ValueError(f"{table}: more than one overrides file ({', '.join(str(p) for p in found)}); keep one")
    return found[0] if found else None


@dataclass(frozen=True)
class Overrides:
    path: Path | None = None
    roll_forward: bool = True
    disable_entities: bool = False
    tolerances: Tolerances = Tolerances()
    columns: dict[str, dict] | None = None

    def column(self, name: str) -> dict:
        return (self.columns or {}).get(name, {})

    def tolerances_for(self, name: str) -> Tolerances:
        own = {k: v for k, v in self.column(name).items() if k in {f.name for f in fields(Tolerances)}}
        return replace(self.tolerances, **own)

    def disabled(self, name: str, what: str) -> bool:
        disable = self.column(name).get("disable", False)
        return disable is True or (isinstance(disable, list) and what in disable)


def load_overrides(expectations_dir: Path, table: str) -> Overrides:
    path = overrides_path(expectations_dir, table)
    return parse_overrides(path) if path else Overrides()


def parse_overrides(path: Path) -> Overrides:
    """Read and check an overrides file; a mistake names the file and the key."""
    text = Path(path).read_text()
    if path.suffix == ".json":
        document = json.loads(text)
    else:
        import yaml

        document = yaml.safe_load(text)
    document = document or {}
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    unknown = set(document) - TOP_LEVEL_KEYS
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {sorted(unknown)}; allowed: {sorted(TOP_LEVEL_KEYS)}")
    tolerance_names = {f.name for f in fields(Tolerances)}
    tolerances = document.get("tolerances") or {}
    bad = set(tolerances) - tolerance_names
    if bad:
        raise ValueError(f"{path}: tolerances: unknown key(s) {sorted(bad)}; allowed: {sorted(tolerance_names)}")
    for key, value in tolerances.items():
        _check_number(path, f"tolerances.{key}", value)
    columns = document.get("columns") or {}
    if not isinstance(columns, dict):
        raise ValueError(f"{path}: columns: expected a mapping of column name to settings")
    for name, settings in columns.items():
        if not isinstance(settings, dict):
            raise ValueError(f"{path}: columns.{name}: expected a mapping")
        bad = set(settings) - COLUMN_OVERRIDE_KEYS
        if bad:
            raise ValueError(f"{path}: columns.{name}: unknown key(s) {sorted(bad)}; allowed: {sorted(COLUMN_OVERRIDE_KEYS)}")
        for key, value in settings.items():
            if key == "disable":
                if not (value is True or value is False or (isinstance(value, list) and set(value) <= DISABLE_VALUES)):
                    raise ValueError(f"{path}: columns.{name}.disable: true, false or a list of {sorted(DISABLE_VALUES)}")
            else:
                _check_number(path, f"columns.{name}.{key}", value)
    roll_forward = document.get("roll_forward", True)
    if not isinstance(roll_forward, bool):
        raise ValueError(f"{path}: roll_forward: true or false")
    return Overrides(path=Path(path), roll_forward=roll_forward, disable_entities=bool(document.get("disable_entities", False)),
                     tolerances=Tolerances(**tolerances), columns=columns)


def _check_number(path: Path, key: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{path}: {key}: expected a number, got {value!r}")


# ---- expectations -----------------------------------------------------------------------------

def pinned_expectations(overrides: Overrides) -> list:
    """Bounds a team pinned for its deployment (e.g. price <= 20000): checked on every row,
    from the first run on."""
    import great_expectations.expectations as gxe

    expectations = []
    for name, settings in (overrides.columns or {}).items():
        low, high = settings.get("min"), settings.get("max")
        if (low is None and high is None) or overrides.disabled(name, "values"):
            continue
        expectations.append(gxe.ExpectColumnValuesToBeBetween(
            column=name, min_value=low, max_value=high,
            meta={"gate": "pinned", "rule": "pinned_range", "why": f"pinned in {overrides.path.name}"}))
    return expectations


def drift_expectations(baseline: dict, overrides: Overrides, current: dict) -> tuple[list, list[str]]:
    """Expectations on the latest row per entity that compare with the baseline profile, and
    notes on what was not compared (and why)."""
    import great_expectations.expectations as gxe

    notes: list[str] = []
    expectations = []
    meta = partial(_profile_meta, baseline.get("recorded_at", "?"))
    entities = baseline.get("entities") or 0
    if entities and not overrides.disable_entities:
        drop = overrides.tolerances.entity_drop
        expectations.append(gxe.ExpectTableRowCountToBeBetween(
            min_value=math.floor(entities * (1 - drop)),
            meta=meta("entities", None, entities, drop)))
    if current["entities"] == 0:
        notes.append("no rows: only the entity count is compared with the baseline")
        return expectations, notes
    for name, base in baseline.get("columns", {}).items():
        expectations += _column_drift(name, base, current["columns"].get(name), overrides, meta, notes)
    return expectations, notes


def _profile_meta(recorded: str, rule: str, column: str | None, base, tolerance, **extra) -> dict:
    """A profile expectation's metadata: what the gate reports about it when it fails."""
    return {"gate": "profile", "rule": rule, "baseline": base, "tolerance": tolerance,
            "baseline_recorded_at": recorded, **({"column": column} if column else {}), **extra}


def _column_drift(name: str, base: dict, now: dict | None, overrides: Overrides, meta, notes: list[str]) -> list:
    """One column's expectations against its baseline profile (notes say what is not compared)."""
    import great_expectations.expectations as gxe

    if overrides.disabled(name, "exists"):
        return []
    if now is None:
        return [gxe.ExpectColumnToExist(column=name, meta=meta("exists", name, "present", None))]
    tol = overrides.tolerances_for(name)
    if base["values"] == 0:
        if now["values"] > 0:
            notes.append(f"{name}: newly populated (entirely null in the baseline); not compared, "
                         "becomes part of the baseline when this run passes")
        return []
    expectations = []
    if not overrides.disabled(name, "null_rate"):
        populated = 1.0 - base["null_rate"]
        expectations.append(gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(
            column=name, min_value=max(0.0, _round(populated - tol.null_rate_points)),
            max_value=min(1.0, _round(populated + tol.null_rate_points)),
            meta=meta("null_rate", name, base["null_rate"], tol.null_rate_points)))
    if now["values"] == 0 or base["values"] < MIN_VALUES:
        if base["values"] < MIN_VALUES:
            notes.append(f"{name}: {base['values']} values in the baseline (< {MIN_VALUES}): distribution not compared")
        return expectations
    kind = base.get("kind")
    if kind in NUMERIC_KINDS and not overrides.disabled(name, "quantiles"):
        expectations += _quantile_drift(name, base, kind, tol, meta, notes)
    elif kind == "flag" and base.get("share_true") is not None and not overrides.disabled(name, "share"):
        share = base["share_true"]
        expectations.append(gxe.ExpectColumnMeanToBeBetween(
            column=name, min_value=max(0.0, _round(share - tol.share_points)), max_value=min(1.0, _round(share + tol.share_points)),
            meta=meta("share_true", name, share, tol.share_points)))
    elif kind == "category" and base.get("shares"):
        expectations += _category_drift(name, base, overrides, tol, meta)
    return expectations


def _quantile_drift(name: str, base: dict, kind: str, tol, meta, notes: list[str]) -> list:
    """p1/p50/p99 within the baseline's value plus or minus a share of its own p1-p99 spread."""
    import great_expectations.expectations as gxe

    spread = (base.get("p99") or 0.0) - (base.get("p01") or 0.0)
    if spread <= 0:
        notes.append(f"{name}: constant in the baseline ({base.get('p50')}): no spread to compare its quantiles with")
        return []
    band = tol.quantile_spreads * spread
    qs = [q for q in QUANTILES if base.get(quantile_key(q)) is not None]
    # the invariants already bound these kinds: a range beyond them would only confuse the report
    floor = 0.0 if kind in ("count", "money", "rate", "ratio") else -math.inf
    ceiling = 1.0 if kind == "rate" else math.inf
    ranges = [[_round(max(floor, base[quantile_key(q)] - band)), _round(min(ceiling, base[quantile_key(q)] + band))] for q in qs]
    return [gxe.ExpectColumnQuantileValuesToBeBetween(
        column=name,
        quantile_ranges={"quantiles": list(qs), "value_ranges": ranges},
        meta=meta("quantiles", name, {quantile_key(q): base[quantile_key(q)] for q in qs}, tol.quantile_spreads,
                  spread=_round(spread)))]


def _category_drift(name: str, base: dict, overrides: Overrides, tol, meta) -> list:
    """Few values never seen in the baseline, and each value's share not fallen by more than the tolerance."""
    import great_expectations.expectations as gxe

    expectations = []
    if not overrides.disabled(name, "values"):
        expectations.append(gxe.ExpectColumnValuesToBeInSet(
            column=name, value_set=sorted(base["shares"]), mostly=_round(1 - tol.new_value_share),
            meta=meta("known_values", name, sorted(base["shares"]), tol.new_value_share)))
    if not overrides.disabled(name, "share"):
        for value, share in base["shares"].items():
            if share - tol.share_points > 0:
                expectations.append(gxe.ExpectColumnValuesToBeInSet(
                    column=name, value_set=[value], mostly=_round(share - tol.share_points),
                    meta=meta("value_share", name, share, tol.share_points, value=value)))
    return expectations


def spec_for(table: str) -> TableSpec:
    if table not in TABLES:
        raise ValueError(f"unknown feature table {table!r}; one of {sorted(TABLES)}")
    return TABLES[table]
