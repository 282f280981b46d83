"""Which files of a landing folder are deliveries, their delivery day, and why the others are not read."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from dagster_project.contracts import SourceEntity


# Delivery file names per format, compared case-insensitively (exports from Windows tools
# write `.CSV`); `.gz` files are read like plain ones.
DELIVERY_SUFFIXES = {"csv": (".csv", ".csv.gz"), "jsonl": (".jsonl", ".jsonl.gz")}

# Files still being written by an uploader: never read, even if a run starts mid-transfer.
IN_FLIGHT_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".filepart", ".uploading", "~")
_DATE_NAME = re.compile(r"\d{4}-\d{2}-\d{2}")


def landing_folder(contract: SourceEntity, landing_dir: Path) -> Path:
    return Path(landing_dir) / contract.system / contract.entity


def delivery_suffix(contract: SourceEntity, path: Path) -> str | None:
    """The delivery suffix (`.csv`, `.csv.gz`, ...) a file name ends with, in its own case; None
    when it is not a delivery file of this contract's format."""
    name = path.name.lower()
    for suffix in sorted(DELIVERY_SUFFIXES[contract.format], key=len, reverse=True):
        if name.endswith(suffix):
            return path.name[-len(suffix):]
    return None


def delivery_day_text(contract: SourceEntity, path: Path) -> str | None:
    """The `YYYY-MM-DD` a delivery file is named after (valid date or not); None otherwise."""
    suffix = delivery_suffix(contract, path)
    stem = path.name[: -len(suffix)] if suffix else None
    return stem if stem and _DATE_NAME.fullmatch(stem) else None


def delivery_date(contract: SourceEntity, path: Path) -> date | None:
    """The delivery day of a file named `<YYYY-MM-DD>.<ext>`; None for other names (and for a
    name that is not a real date, which ingestion rejects)."""
    text = delivery_day_text(contract, path)
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _ignore_reason(contract: SourceEntity, path: Path) -> str | None:
    name = path.name
    if path.is_dir():
        return "a folder (sub-folders are not read)"
    if name.startswith("._"):
        return "macOS resource fork (._*), not data"
    if name.startswith("."):
        return "hidden file"
    lower = name.lower()
    if lower.endswith(IN_FLIGHT_SUFFIXES):
        return "upload in progress (temporary name)"
    if delivery_suffix(contract, path):
        return None
    others = [s for fmt, suffixes in DELIVERY_SUFFIXES.items() if fmt != contract.format for s in suffixes]
    if lower.endswith(tuple(others)):
        return f"not a {contract.format} file (this source delivers {contract.format})"
    expected = " or ".join(DELIVERY_SUFFIXES[contract.format])
    return f"not a delivery file (expected <YYYY-MM-DD>{expected})"


@dataclass
class Discovery:
    folder: Path
    exists: bool
    files: list[Path] = field(default_factory=list)
    # file -> why it is not read
    ignored: dict[str, str] = field(default_factory=dict)


def discover_deliveries(contract: SourceEntity, landing_dir: Path) -> Discovery:
    """The entity's delivery files (sorted by name) and every other entry of its folder with the
    reason it is not read. One directory listing: cheap with hundreds of daily files."""
    folder = landing_folder(contract, landing_dir)
    if not folder.is_dir():
        return Discovery(folder, exists=False)
    found = Discovery(folder, exists=True)
    for path in sorted(folder.iterdir()):
        reason = _ignore_reason(contract, path)
        if reason:
            found.ignored[str(path)] = reason
        else:
            found.files.append(path)
    return found
