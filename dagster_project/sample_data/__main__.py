"""CLI: python -m dagster_project.sample_data --landing-dir DIR --scale small --seed 42 [--world NAME]"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from dagster_project.sample_data.generator import generate


def _scale(value: str) -> str | float:
    try:
        return float(value)
    except ValueError:
        return value


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Write synthetic landing files for the five source systems.")
    parser.add_argument("--landing-dir", type=Path, default=None,
                        help="landing directory (default: RCL_LANDING_DIR / <repo>/data/landing)")
    parser.add_argument("--scale", type=_scale, default="small",
                        help="'small' (demo), 'standard' (benchmark) or a factor of small, e.g. 0.1")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--end-date", type=date.fromisoformat, default=date(2026, 10, 31))
    parser.add_argument("--ground-truth-dir", type=Path, default=None)
    parser.add_argument("--world", default="default",
                        help="which generated retailer: default (the demo shop) or us_multichannel")
    args = parser.parse_args(argv)
    landing_dir = args.landing_dir
    if landing_dir is None:
        from dagster_project.settings import Settings

        landing_dir = Settings.from_env().landing_dir
    summary = generate(landing_dir, scale=args.scale, seed=args.seed, end_date=args.end_date,
                       ground_truth_dir=args.ground_truth_dir, world=args.world)
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
