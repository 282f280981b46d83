"""A run's output: every event and log message of Dagster and dbt to a log file under
`<data-dir>/logs/`, one progress line per asset (rows, checks) to the terminal, warnings and
errors in full on stderr. Used by `rcl run` and `make demo`."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

EVENTS_LOGGER = "rcl.events"
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s %(message)s"
# Python warnings about the libraries themselves (deprecations, beta APIs): the log file only
LIBRARY_WARNINGS = re.compile(r"(Deprecation|PendingDeprecation|Beta|Supersession|Preview|Experimental)Warning"
                              r"|experimental feature")
# Dagster's own Python logger repeats some run messages as "<job> - <run id> - <step> - ...": the
# rcl.events copy of the same event is the one the terminal shows
RUN_ECHO = re.compile(r"^\S+ - [0-9a-f]{8}-[0-9a-f-]{27} - ")
# metadata keys that hold an asset's row count, the first present wins
ROW_KEYS = ("dagster/row_count", "rows_loaded", "row_count", "rows", "rows_written")


def new_log_path(data_dir: Path, kind: str = "run") -> Path:
    """A fresh file name under <data_dir>/logs/ (the folder is created)."""
    logs = Path(data_dir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return logs / f"{kind}-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%fZ')[:-4]}.log"


@contextlib.contextmanager
def log_to_file(path: Path):
    """Every record of the rcl.events logger (DEBUG and up) and of other loggers (INFO and up)
    also goes to `path` while the block runs; a second call for the same file adds nothing."""
    root = logging.getLogger()
    path = Path(path).resolve()
    if any(getattr(h, "baseFilename", None) == str(path) for h in root.handlers):
        yield path
        return
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    events = logging.getLogger(EVENTS_LOGGER)
    previous = (root.level, events.level)
    root.addHandler(handler)
    root.setLevel(min(root.level or logging.WARNING, logging.INFO))
    events.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(previous[0])
        events.setLevel(previous[1])


def entry_text(entry) -> str:
    """One event log entry as text: step, event type, message, and an error's full trace."""
    event = entry.dagster_event
    parts = [entry.step_key or "-", event.event_type_value if event else "LOG", entry.message or ""]
    text = " | ".join(parts)
    error = entry.error_info
    if error is None and event is not None and event.is_step_failure:
        error = event.step_failure_data.error
    return text + ("\n" + error.to_string() if error is not None else "")


def _level(entry) -> int:
    level = entry.level
    return level if isinstance(level, int) else logging.getLevelName(str(level).upper())


@dataclass
class AssetLine:
    """What one asset did in the run: its row count, partitions and check results."""

    key: str
    materialized: bool = False
    rows: int | None = None
    quarantined: int = 0
    partitions: int = 0
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    def render(self, expected: int = 0, width: int = 44) -> str:
        rows = f"{self.rows:>10,} rows" if self.rows is not None else " " * 15
        parts = [f"  {self.key:<{width}} {rows}"]
        if self.quarantined:
            parts.append(f"{self.quarantined:,} quarantined")
        if self.partitions > 1:
            parts.append(f"{self.partitions} partitions")
        if self.checks:
            passed = sum(ok for _, ok, _ in self.checks)
            failed = [f"{name} ({severity.lower()})" for name, ok, severity in self.checks if not ok]
            parts.append(f"checks {passed}/{len(self.checks)} passed" + (f", FAILED: {', '.join(failed)}" if failed else ""))
        if expected > len(self.checks):
            parts.append(f"{expected - len(self.checks)} check(s) not run")
        return "  ".join(parts).rstrip()


def expected_checks(job_def) -> dict[str, int]:
    """How many checks the job runs on each asset (user string -> count)."""
    counts: dict[str, int] = {}
    for check_key in job_def.asset_layer.asset_graph.asset_check_keys:
        key = check_key.asset_key.to_user_string()
        counts[key] = counts.get(key, 0) + 1
    return counts


class RunProgress:
    """An instance event listener for one run (`instance.add_event_listener(run_id, progress)`):
    each entry goes to the rcl.events logger at its own level (the log file keeps them all, the
    terminal shows warnings and errors), and each asset's line is printed to `out` once it is
    materialized and its checks have run (at the latest when the run ends). Assets with neither
    rows nor checks (the online store's views) share a line per step."""

    def __init__(self, out: TextIO | None = None, expected: dict[str, int] | None = None):
        self.out = out
        self.expected = expected or {}
        self.logger = logging.getLogger(EVENTS_LOGGER)
        self.lines: dict[str, AssetLine] = {}
        self.done: set[str] = set()
        self.printed = 0

    def __call__(self, entry) -> None:
        self.logger.log(_level(entry), entry_text(entry))
        event = entry.dagster_event
        if event is None:
            return
        if event.is_step_materialization:
            self._materialized(entry.asset_materialization)
        elif entry.asset_check_evaluation is not None:
            check = entry.asset_check_evaluation
            severity = getattr(check.severity, "value", str(check.severity))
            self._line(check.asset_key.to_user_string()).checks.append((check.check_name, check.passed, severity))
        elif event.is_step_success or event.is_step_failure:
            self.flush(complete_only=True)
        elif event.is_job_event and event.event_type_value in ("RUN_SUCCESS", "RUN_FAILURE"):
            self.flush(complete_only=False)

    def _line(self, key: str) -> AssetLine:
        return self.lines.setdefault(key, AssetLine(key))

    def _materialized(self, materialization) -> None:
        line = self._line(materialization.asset_key.to_user_string())
        line.materialized = True
        line.partitions += 1
        values = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
        rows = next((values[k] for k in ROW_KEYS if isinstance(values.get(k), int)), None)
        line.rows = rows if rows is not None else line.rows
        line.quarantined = values.get("rows_quarantined") if isinstance(values.get("rows_quarantined"), int) else 0

    def flush(self, complete_only: bool) -> None:
        """Print the lines of the assets that are complete (materialized, every check in), or all."""
        ready = [line for key, line in self.lines.items() if key not in self.done and (
            not complete_only or line.materialized and len(line.checks) >= self.expected.get(key, 0))]
        bare = [line.key for line in ready if line.rows is None and not line.checks and line.materialized]
        for line in ready:
            self.done.add(line.key)
            if line.key not in bare:
                self._print(line.render(self.expected.get(line.key, 0)))
        for chunk in _chunks(bare, 100):
            self._print(f"  materialized: {chunk}")

    def _print(self, text: str) -> None:
        self.printed += 1
        if self.out is not None:
            print(text, file=self.out, flush=True)


def _chunks(names: list[str], width: int) -> list[str]:
    """Comma-separated names in lines of about `width` characters."""
    chunks: list[str] = []
    for name in names:
        if chunks and len(chunks[-1]) + len(name) + 2 <= width:
            chunks[-1] += f", {name}"
        else:
            chunks.append(name)
    return chunks


def terminal_logging(stream: TextIO | None = None) -> logging.Handler:
    """Warnings and errors of every logger, in full, on stderr (the root logger's handler);
    Python's warnings about the libraries go to the log file only."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(lambda r: not (r.name == "py.warnings" and LIBRARY_WARNINGS.search(r.getMessage())
                                     or r.name.startswith("dagster") and RUN_ECHO.match(r.getMessage())))
    logging.getLogger().addHandler(handler)
    logging.captureWarnings(True)
    return handler


class LogWriter(io.TextIOBase):
    """A text stream whose lines go to a logger: dbt's console output (which dagster-dbt writes
    to sys.stdout) into the log file, `contextlib.redirect_stdout(LogWriter("dbt"))`."""

    def __init__(self, name: str, level: int = logging.INFO):
        self.logger, self.level, self.pending = logging.getLogger(name), level, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            if line.strip():
                self.logger.log(self.level, line)
        return len(text)

    def flush(self) -> None:
        if self.pending.strip():
            self.logger.log(self.level, self.pending)
        self.pending = ""
