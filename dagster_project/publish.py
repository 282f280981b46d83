"""The analysts' copy of the warehouse: a checkpointed copy of the working database, published by
swapping a symlink in one rename (docs/adr/published-warehouse-swap.md).
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
    path: Path          # the published build
    link: Path          # the analysts' path, now pointing at it
    bytes: int
    removed: list[Path]  # older builds deleted


def published_dir(settings: Settings) -> Path:
    return settings.published_warehouse.parent / "published"


def publish_warehouse(settings: Settings, keep: int = 3) -> Publication:
    """Copy the working warehouse to a new build, point the analysts' path at it, and keep the
    last `keep` builds."""
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
    _copy_checkpointed(work, target)
    link = settings.published_warehouse
    _point_link_at(link, target, stamp)
    removed = _remove_old_builds(target_dir, target, keep)
    return Publication(path=target, link=link, bytes=target.stat().st_size, removed=removed)


def _copy_checkpointed(work: Path, target: Path) -> None:
    """A complete copy of the working database, appearing at `target` only when whole."""
    # Fold the write-ahead log into the file so the copy is complete on its own.
    with duckdb.connect(str(work)) as conn:
        conn.execute("checkpoint")
    partial = target.with_suffix(".partial")
    shutil.copyfile(work, partial)
    os.replace(partial, target)


def _point_link_at(link: Path, target: Path, stamp: str) -> None:
    """Swap the analysts' symlink to `target` in one rename of a staged link."""
    link.parent.mkdir(parents=True, exist_ok=True)
    staged_link = link.with_name(f".{link.name}.{stamp}")
    os.symlink(os.path.relpath(target, link.parent), staged_link)
    os.replace(staged_link, link)  # atomic: readers see the old or the new build, never neither


def _remove_old_builds(target_dir: Path, target: Path, keep: int) -> list[Path]:
    builds = sorted(target_dir.glob("warehouse-*.duckdb"))
    removed = [old for old in builds[:-keep] if old != target]
    for old in removed:
        old.unlink()  # connections still open on it keep reading it until they close
    return removed
