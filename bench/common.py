"""Shared helpers: isolated settings in a temp data dir, timing, medians, machine facts, and
peak RSS of a process tree."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from dagster_project.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def make_settings(data_dir: Path, **overrides) -> Settings:
    """Settings with every path under one data dir (the default world's meaning settings); a
    child process gets them as its environment: `{**os.environ, **settings.env()}`."""
    overrides.setdefault("feast_project", "retail_context_bench")
    from dagster_project.sample_data.worlds import world_settings

    return Settings.for_data_dir(data_dir, **{**world_settings(), **overrides})


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def percentile(values, q: float):
    """Percentile by linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


def machine() -> dict:
    memory_gib = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ peak RSS of a process tree

@dataclass
class TreeRss:
    """Polls the summed RSS of a process and all its descendants (psutil) every `interval` s."""

    @staticmethod
    def _describe(proc) -> str:
        try:
            cmd = proc.cmdline()
        except Exception:
            return "?"
        names = [c.rsplit("/", 1)[-1] for c in cmd[:6]]
        return " ".join(names)[:120]

    pid: int
    interval: float = 0.05
    peak_bytes: int = 0
    peak_processes: int = 0
    samples: int = 0
    # the processes at the peak: [(command, rss bytes)], largest first (where the memory is)
    peak_breakdown: list = field(default_factory=list)
    # (wall-clock time, summed bytes) of every sample: which step held the memory (step_peaks)
    timeline: list = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "TreeRss":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            total, count, parts = 0, 0, []
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            for proc in procs:
                try:
                    rss = proc.memory_info().rss
                    total += rss
                    count += 1
                    parts.append((proc, rss))
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
            self.samples += 1
            self.timeline.append((time.time(), total))
            if total > self.peak_bytes:
                self.peak_bytes, self.peak_processes = total, count
                self.peak_breakdown = [(self._describe(p), rss) for p, rss in sorted(parts, key=lambda x: -x[1])]
            self._stop.wait(self.interval)


def run_with_peak_rss(cmd: list[str], env: dict | None = None, cwd: Path | None = None,
                      timeout: float | None = None) -> dict:
    """Run `cmd` under /usr/bin/time -v (when present) while polling its process tree.

    Returns seconds, returncode, tree_peak_gib (summed RSS of all live processes of the tree,
    sampled every 50 ms), time_max_rss_gib (GNU time's "Maximum resident set size": the largest
    single process among the child and its waited-for descendants), and stderr's tail."""
    gnu_time = Path("/usr/bin/time")
    full = ([str(gnu_time), "-v"] if gnu_time.exists() else []) + cmd
    started = time.perf_counter()
    proc = subprocess.Popen(full, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    poller = TreeRss(proc.pid).start()
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        poller.stop()
    seconds = time.perf_counter() - started
    time_max_kib = None
    for line in err.splitlines():
        if "Maximum resident set size" in line:
            time_max_kib = int(line.rsplit(":", 1)[1])
    return {
        "seconds": seconds,
        "returncode": proc.returncode,
        "tree_peak_gib": poller.peak_bytes / 2**30,
        "tree_peak_processes": poller.peak_processes,
        "tree_peak_breakdown_gib": [(c, round(b / 2**30, 2)) for c, b in poller.peak_breakdown],
        "time_max_rss_gib": time_max_kib / 2**20 if time_max_kib is not None else None,
        "timeline": poller.timeline,
        "stdout_tail": out[-2000:],
        "stderr_tail": err[-3000:],
    }


def step_peaks(timeline: list, windows: list) -> list:
    """Peak summed RSS (GiB) while each step ran: `windows` are (step, start, end) wall-clock
    times; largest first. Steps overlap only with a multi-process executor."""
    out = []
    for step, start, end in windows:
        inside = [b for t, b in timeline if start <= t <= end]
        if inside:
            out.append((step, round(max(inside) / 2**30, 2), round(end - start, 1)))
    return sorted(out, key=lambda x: -x[1])


def detail(value, *, baseline=None, unit: str, runs=None, target=None, comparison: str | None = None,
           note: str = "", **extra) -> dict:
    """One figure's detail block. comparison is '<=' or '>=' (target met when value compares)."""
    meets = None
    if value is not None and target is not None and comparison:
        meets = bool(value <= target) if comparison == "<=" else bool(value >= target)
    out = {
        "value": value,
        "baseline": baseline,
        "unit": unit,
        "runs": runs or [],
        "target": (f"{comparison} {target}" if comparison and target is not None else target),
        "meets_target": meets,
        "note": note,
    }
    out.update(extra)
    return out


def null_detail(reason: str, *, unit: str, target=None, comparison: str | None = None, **extra) -> dict:
    return detail(None, unit=unit, target=target, comparison=comparison, note=reason, reason=reason, **extra)
