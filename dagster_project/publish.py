"""Publishing the warehouse for analysts.

DuckDB allows one writing process or many readers per file, so analysts never open the file the
pipeline writes. At the end of a run the working database is checkpointed and copied to
`published/warehouse-<UTC time>.duckdb`, and the analysts' path (a symlink) is swapped to it in
one rename: a new connection sees the whole new build, an open one keeps reading the previous
build, which stays on disk until it is older than the last `keep` publications.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from dagster_project.settings import Settings


@dataclass
class Publication:
    path: Path
    link: Path
    bytes: int
    removed: list[Path]


def published_dir(settings: Settings) -> Path:
    return settings.published_warehouse.parent / "published"


def publish_warehouse(settings: Settings, keep: int = 3) -> Publication:
    work = settings.warehouse_path
    if settings.published_warehouse.absolute() == work.absolute():
        raise ValueError(
            f"RCL_PUBLISHED_WAREHOUSE and RCL_WAREHOUSE_PATH are the same file ({work}): analysts "
            "must read a published copy, not the file the pipeline writes"
        )
    target_dir = published_dir(settings)
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = target_dir / f"warehouse-{stamp}.duckdb"

    # Fold the write-ahead log into the file so the copy is complete on its own.
    with duckdb.connect(str(work)) as conn:
        conn.execute("checkpoint")
    partial = target.with_suffix(".partial")
    shutil.copyfile(work, partial)
    os.replace(partial, target)

    link = settings.published_warehouse
    link.parent.mkdir(parents=True, exist_ok=True)
    staged_link = link.with_name(f".{link.name}.{stamp}")
    os.symlink(os.path.relpath(target, link.parent), staged_link)
    os.replace(staged_link, link)  # atomic: readers see the old or the new build, never neither

    builds = sorted(target_dir.glob("warehouse-*.duckdb"))
    removed = [old for old in builds[:-keep] if old != target]
    for old in removed:
        old.unlink()  # connections still open on it keep reading it until they close
    return Publication(path=target, link=link, bytes=target.stat().st_size, removed=removed)
