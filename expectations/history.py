""""Within bounds of the previous good run": summary statistics of the last passing validation of
a feature table (row count; mean, spread and null rate of its key columns), stored as JSON next to
the validation results, and the expectations the next run derives from them.

The first run has no history: only the fixed suite applies, and the check says so."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

HISTORY_FILE = "last_good.json"

# Key numeric columns whose mean and null rate are tracked per feature table.
KEY_COLUMNS = {
    "customer_features": ["orders_lifetime", "revenue_lifetime", "avg_order_value", "return_rate",
                          "product_views_30d", "days_since_first_seen"],
    "product_features": ["price", "avg_rating", "units_sold_30d", "units_available", "product_views_7d"],
}

# Allowed change against the last good run. A daily increment moves a feature table by a few per
# cent; these bounds catch a collapsed join, a unit change or a half-loaded source.
ROW_COUNT_MIN_RATIO = 0.8
ROW_COUNT_MAX_RATIO = 1.5
MEAN_RELATIVE_TOLERANCE = 0.5   # of the previous mean...
MEAN_STD_TOLERANCE = 0.5        # ...or of the previous standard deviation, whichever is larger
NULL_RATE_TOLERANCE = 0.2       # absolute change in the share of nulls


def summarize(df: pd.DataFrame, view_name: str) -> dict:
    columns = {}
    for name in KEY_COLUMNS.get(view_name, []):
        if name not in df.columns:
            continue
        values = pd.to_numeric(df[name], errors="coerce").astype("float64")
        mean, std = values.mean(), values.std()
        columns[name] = {
            "mean": None if pd.isna(mean) else float(mean),
            "std": None if pd.isna(std) else float(std),
            "null_rate": float(values.isna().mean()) if len(values) else 0.0,
        }
    return {"rows": int(len(df)), "columns": columns}


def load_last_good(results_dir: Path) -> dict | None:
    path = Path(results_dir) / HISTORY_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text())


def save_last_good(results_dir: Path, stats: dict) -> Path:
    path = Path(results_dir) / HISTORY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(stats, indent=1))
    tmp.replace(path)  # atomic: a crash leaves the previous history
    return path


def drift_expectations(history: dict) -> list:
    import great_expectations.expectations as gxe

    rows = history["rows"]
    expectations = [
        gxe.ExpectTableRowCountToBeBetween(
            min_value=math.floor(rows * ROW_COUNT_MIN_RATIO), max_value=math.ceil(rows * ROW_COUNT_MAX_RATIO),
            meta={"from_history": "row count within expected change of the last good run", "previous": rows},
        )
    ]
    for name, stats in history.get("columns", {}).items():
        if stats.get("mean") is not None:
            mean, std = stats["mean"], stats.get("std") or 0.0
            band = max(abs(mean) * MEAN_RELATIVE_TOLERANCE, std * MEAN_STD_TOLERANCE, 1e-9)
            expectations.append(
                gxe.ExpectColumnMeanToBeBetween(
                    column=name, min_value=mean - band, max_value=mean + band,
                    meta={"from_history": "mean drift against the last good run", "previous": mean},
                )
            )
        not_null = 1.0 - stats["null_rate"]
        expectations.append(
            gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(
                column=name, min_value=max(0.0, not_null - NULL_RATE_TOLERANCE),
                max_value=min(1.0, not_null + NULL_RATE_TOLERANCE),
                meta={"from_history": "null rate against the last good run", "previous_null_rate": stats["null_rate"]},
            )
        )
    return expectations
