"""The one translation from feature tables to Feast: applying the feature repo, materializing
feature views into the online store, and opening the store for readers."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from dagster_project.settings import FEATURE_REPO_DIR, Settings

log = logging.getLogger(__name__)

# Feature view name -> the Parquet export (dbt model of the same name) it reads.
FEATURE_VIEWS = ("customer_features", "product_features")


def get_feature_store(settings: Settings):
    from feast import FeatureStore

    settings.export_env()
    return FeatureStore(repo_path=str(FEATURE_REPO_DIR), fs_yaml_file=settings.feast_yaml)


def apply_feature_repo(settings: Settings) -> str:
    """`feast apply` in a child process: Feast imports every module of the repo, and a fresh
    process keeps those imports (and their paths) from leaking between environments."""
    settings.export_env()
    settings.feast_dir.mkdir(parents=True, exist_ok=True)
    feast_cli = Path(sys.executable).with_name("feast")
    proc = subprocess.run(
        [str(feast_cli), "--chdir", str(FEATURE_REPO_DIR), "--feature-store-yaml", str(settings.feast_yaml), "apply", "--skip-source-validation"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"feast apply failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def feature_table_path(settings: Settings, view_name: str) -> Path:
    return settings.features_dir / f"{view_name}.parquet"


def event_time_range(path: Path) -> tuple[datetime, datetime]:
    """Min and max event_timestamp of a feature table, read from Parquet statistics."""
    import pyarrow.compute as pc

    column = pq.read_table(path, columns=["event_timestamp"]).column("event_timestamp")
    bounds = pc.min_max(column)
    return bounds["min"].as_py(), bounds["max"].as_py()


def materialize_view(settings: Settings, view_name: str) -> dict:
    """Load the latest row per entity of one feature view into the online store.

    The window covers the whole table, so a re-run writes the same values again (idempotent)."""
    path = feature_table_path(settings, view_name)
    start, end = event_time_range(path)
    store = get_feature_store(settings)
    store.materialize(start_date=start - timedelta(seconds=1), end_date=end + timedelta(seconds=1), feature_views=[view_name])
    return {"start": start, "end": end, "rows": pq.ParquetFile(path).metadata.num_rows}
