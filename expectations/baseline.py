"""Accepting a feature table's profile as the deployment's new baseline, when a drift the gate
blocked is an intended change (a new price list, a new source, a new market).

    rcl baseline accept product_features
    python -m expectations.baseline accept --table product_features --data-dir DIR
    python -m expectations.baseline show --table product_features --data-dir DIR

`accept_baseline(settings, table)` is the function behind both; it profiles the table as it is
now (the latest row per entity), keeps the replaced baseline as <table>.profile.previous.json
and returns what changed. Invariants are not affected: they hold for every baseline."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dagster_project.settings import Settings


def accept_baseline(settings: Settings, table: str) -> dict:
    from dagster_project.feast_ext.feature_tables import feature_table_path
    from expectations.profile import compute_profile, latest_rows, load_baseline, read_frame, save_baseline, spec_for

    spec = spec_for(table)
    path = feature_table_path(settings, table)
    if not path.exists():
        raise FileNotFoundError(f"{table}: feature table {path} does not exist (was the dbt model built?)")
    previous = load_baseline(settings.expectations_path, table)
    frame = read_frame(path)
    rows = len(frame)
    snapshot = latest_rows(frame, spec)
    del frame
    profile = compute_profile(snapshot, spec, rows)
    target = save_baseline(settings.expectations_path, table, profile, "accepted")
    return {
        "table": table,
        "baseline": str(target),
        "previous_recorded_at": previous.get("recorded_at") if previous else None,
        "changes": profile_changes(previous, profile) if previous else [],
    }


def profile_changes(before: dict, after: dict) -> list[str]:
    """What an accepted baseline changes, in lines a reviewer reads (entities, null rates, medians, value sets)."""
    lines = []
    if before.get("entities") != after.get("entities"):
        lines.append(f"entities: {before.get('entities')} -> {after.get('entities')}")
    for name in sorted(set(before.get("columns", {})) | set(after.get("columns", {}))):
        old, new = before.get("columns", {}).get(name), after.get("columns", {}).get(name)
        if old is None or new is None:
            lines.append(f"{name}: {'added' if old is None else 'removed'}")
            continue
        if abs((old.get("null_rate") or 0) - (new.get("null_rate") or 0)) >= 0.01:
            lines.append(f"{name}: null rate {old.get('null_rate'):.3f} -> {new.get('null_rate'):.3f}")
        if old.get("p50") != new.get("p50") and (old.get("p50") is not None or new.get("p50") is not None):
            lines.append(f"{name}: p50 {old.get('p50')} -> {new.get('p50')}")
        if old.get("share_true") != new.get("share_true"):
            lines.append(f"{name}: share true {old.get('share_true')} -> {new.get('share_true')}")
        if set(old.get("shares") or {}) != set(new.get("shares") or {}):
            added = sorted(set(new.get("shares") or {}) - set(old.get("shares") or {}))
            gone = sorted(set(old.get("shares") or {}) - set(new.get("shares") or {}))
            lines.append(f"{name}: values added {added}, gone {gone}")
    return lines


def _settings(args) -> Settings:
    # the CLI is its own process: pointing the settings at --data-dir through the environment
    # resolves every other path exactly as the pipeline does
    if args.data_dir:
        os.environ["RCL_DATA_DIR"] = str(Path(args.data_dir).resolve())
    if args.expectations_dir:
        os.environ["RCL_EXPECTATIONS_DIR"] = str(Path(args.expectations_dir).resolve())
    return Settings.from_env()


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    from dagster_project.feast_ext.feature_tables import FEATURE_VIEWS

    parser = argparse.ArgumentParser(prog="python -m expectations.baseline", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["accept", "show"])
    parser.add_argument("--table", required=True, choices=FEATURE_VIEWS)
    parser.add_argument("--data-dir", help="the deployment's data directory (default: RCL_DATA_DIR)")
    parser.add_argument("--expectations-dir", help="where baselines live (default: RCL_EXPECTATIONS_DIR or DATA_DIR/expectations)")
    args = parser.parse_args(argv)
    settings = settings or _settings(args)
    if args.action == "show":
        from expectations.profile import baseline_path

        path = baseline_path(settings.expectations_path, args.table)
        if not path.exists():
            print(f"{args.table}: no baseline at {path} (the next passing run records one)")
            return 1
        print(path.read_text())
        return 0
    result = accept_baseline(settings, args.table)
    print(f"{args.table}: baseline accepted -> {result['baseline']}")
    if result["previous_recorded_at"]:
        print(f"replaces the baseline recorded at {result['previous_recorded_at']} (kept as {args.table}.profile.previous.json)")
    for line in result["changes"]:
        print(f"  {line}")
    print("re-run the check (or the pipeline) to publish the table")
    return 0


if __name__ == "__main__":
    sys.exit(main())
