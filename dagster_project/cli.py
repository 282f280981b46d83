"""`rcl`, the project's command line.

    rcl run [--landing-dir DIR] [--data-dir DIR] [--partition DAY | --partition FIRST..LAST]
    rcl sample [--world default|...] [--scale small] [--seed 42] [--data-dir DIR]
    rcl baseline accept|show TABLE [--data-dir DIR]
    rcl serve [--port 6566] [--data-dir DIR] [--host 127.0.0.1] [--workers 1]
    rcl env [--data-dir DIR]                 # the settings as shell exports
    rcl dbt [--data-dir DIR] -- DBT_ARGS     # dbt by hand, with the settings
    rcl training-set --service NAME (--entities FILE.parquet | --labels CONSUMER) --out FILE.parquet [--data-dir DIR]
    rcl lineage FEATURE [--data-dir DIR] [--json] [--parse]   # feature -> view -> dbt DAG -> sources -> landing
    rcl forget (--email ADDRESS | --phone ... | --account-id ... | --crm-id ... | --cookie ... | --customer-id ...) [--data-dir DIR]

`rcl run` runs the `full_pipeline` job on the landing folder a retailer provides (no sample data
is generated): a full refresh by default, one delivery day or a range of days with
`--partition`. It prints one line per asset (rows, checks) as the run goes, warnings and errors
in full, and ends with a short summary (rows per source, quarantined, orphans, gates, views
published); every event and log message of Dagster and dbt goes to `<data-dir>/logs/`.

Exit codes: 0 when every source loaded, every gate passed and every feature view was published;
3 when everything that could be published was, but a source failed or a gate held a view back
(the summary names them; the online store keeps serving those views' previous values); 1 when a
view that nothing held back was not published (a pipeline error), or the run could not start.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_PARTIAL = 3
EXIT_UNKNOWN = 2  # rcl lineage: no such feature (argparse's usage errors exit 2 as well)

# Paths derived from the data dir: a --data-dir given on the command line moves all of them.
_DERIVED_PATH_VARIABLES = ("RCL_WAREHOUSE_PATH", "RCL_FEATURES_DIR", "RCL_FEAST_DIR", "RCL_PUBLISHED_WAREHOUSE")


def settings_for(data_dir: Path | None = None, landing_dir: Path | None = None, online_store: str | None = None,
                 environ=None):
    """The environment's settings (default: os.environ, only read), with the command line's
    directories taking precedence."""
    from dagster_project.settings import Settings

    env = dict(os.environ if environ is None else environ)
    if data_dir is not None:
        env["RCL_DATA_DIR"] = str(Path(data_dir).resolve())
        for name in _DERIVED_PATH_VARIABLES:
            env.pop(name, None)
        if landing_dir is None:
            env.pop("RCL_LANDING_DIR", None)
    if landing_dir is not None:
        env["RCL_LANDING_DIR"] = str(Path(landing_dir).resolve())
    if online_store is not None:
        env["RCL_ONLINE_STORE"] = online_store
    return Settings.from_env(env)


def parse_partition(value: str | None) -> tuple[str, str] | None:
    """'2026-10-01' -> (day, day); '2026-10-01..2026-10-07' -> (first, last)."""
    if value is None:
        return None
    first, sep, last = value.partition("..")
    try:
        days = (date.fromisoformat(first.strip()), date.fromisoformat((last if sep else first).strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--partition takes YYYY-MM-DD or FIRST..LAST, not {value!r}") from None
    if days[1] < days[0]:
        raise argparse.ArgumentTypeError(f"--partition {value}: the last day is before the first")
    return days[0].isoformat(), days[1].isoformat()


# ---------------------------------------------------------------- the run's summary

@dataclass
class SourceLine:
    name: str
    status: str = "not run"
    rows_read: int | None = None
    rows_loaded: int | None = None
    rows_quarantined: int | None = None
    duplicates_removed: int | None = None
    rows_suppressed: int | None = None
    ignored_files: int | None = None
    message: str = ""


@dataclass
class RunSummary:
    sources: list[SourceLine] = field(default_factory=list)
    gates: dict[str, bool] = field(default_factory=dict)
    gate_notes: dict[str, str] = field(default_factory=dict)
    views_published: list[str] = field(default_factory=list)
    views_held_back: dict[str, str] = field(default_factory=dict)
    views_missing: dict[str, str] = field(default_factory=dict)
    orphans: dict[str, int] = field(default_factory=dict)
    failed_steps: dict[str, str] = field(default_factory=dict)
    failed_checks: list[str] = field(default_factory=list)
    partitions: list[str] = field(default_factory=list)  # the days the run materialized
    log_path: Path | None = None
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        if self.views_missing:
            return EXIT_ERROR
        source_failed = any(s.status == "failed" for s in self.sources)
        if self.views_held_back or source_failed or self.failed_steps or not all(self.gates.values()):
            return EXIT_PARTIAL
        return EXIT_OK

    def render(self, compact: bool = False) -> str:
        """The summary; `compact` (after the per-asset lines of the run) leaves out the sources
        that loaded cleanly and the gates that passed (their notes too), counting them instead."""
        lines = [""] + self._source_lines(compact)
        if self.orphans:
            lines.append("Orphans (kept, flagged; they resolve when the parent arrives):")
            for kind, n in sorted(self.orphans.items()):
                lines.append(f"  {kind}: {n:,}")
        lines += self._gate_lines(compact)
        lines.append(
            f"Online feature views published: {len(self.views_published)} of "
            f"{len(self.views_published) + len(self.views_held_back) + len(self.views_missing)}"
            + (f" ({', '.join(self.views_published)})" if self.views_published else "")
        )
        for view, why in sorted(self.views_held_back.items()):
            lines.append(f"  held back: {view} ({why}); the online store keeps its previous values")
        for view, why in sorted(self.views_missing.items()):
            lines.append(f"  NOT PUBLISHED: {view} ({why})")
        if self.failed_steps:
            lines.append("Failed steps:")
            for step, message in sorted(self.failed_steps.items()):
                lines.append(f"  {step}: {message}")
        if self.failed_checks:
            lines.append(f"Failed checks: {', '.join(sorted(self.failed_checks))}")
        if self.partitions:
            lines.append(f"Partitions: {len(self.partitions)} delivery days, {self.partitions[0]} to {self.partitions[-1]}")
        if self.log_path:
            lines.append(f"Full log: {self.log_path}")
        verdict = {EXIT_OK: "OK", EXIT_PARTIAL: "PARTIAL (see above)", EXIT_ERROR: "FAILED"}[self.exit_code]
        lines.append(f"Result: {verdict} in {self.seconds:.0f}s")
        return "\n".join(lines)


    def _source_lines(self, compact: bool) -> list[str]:
        width = max((len(s.name) for s in self.sources), default=10)
        shown = [s for s in self.sources if not compact or s.rows_read is None or s.rows_quarantined
                 or s.duplicates_removed or s.ignored_files or s.rows_suppressed]
        lines = ["Sources (rows read = loaded + quarantined + duplicates removed + suppressed):"]
        if compact:
            lines = [f"Sources: {len(self.sources) - len(shown)} of {len(self.sources)} loaded every row they read"
                     + (", the others:" if shown else "")]
        for s in shown:
            if s.rows_read is None:
                lines.append(f"  {s.name:<{width}}  {s.status.upper()}  {s.message}".rstrip())
                continue
            extra = f", {s.rows_suppressed:,} suppressed (forgotten people)" if s.rows_suppressed else ""
            extra += f", {s.ignored_files} file(s) ignored" if s.ignored_files else ""
            lines.append(
                f"  {s.name:<{width}}  {s.rows_read:>9,} read  {s.rows_loaded:>9,} loaded  "
                f"{s.rows_quarantined:>7,} quarantined  {s.duplicates_removed or 0:>6,} duplicates{extra}"
            )
        return lines

    def _gate_lines(self, compact: bool) -> list[str]:
        if not self.gates:
            return []
        shown = {n: ok for n, ok in sorted(self.gates.items()) if not compact or not ok}
        lines = [f"Gates: {sum(self.gates.values())} of {len(self.gates)} passed" + (":" if shown else "")]
        for name, passed in shown.items():
            note = self.gate_notes.get(name, "")
            lines.append(f"  {name}: {'passed' if passed else 'BLOCKED'}{'  (' + note + ')' if note else ''}")
        return lines


def _first_line(text: str | None, limit: int = 300) -> str:
    text = (text or "").strip()
    first = text.splitlines()[0] if text else ""
    return first[:limit] + ("…" if len(first) > limit else "")


def summarize_run(result) -> RunSummary:
    """What a finished run did, from its Dagster events."""
    from dagster_project.contracts import CONTRACTS
    from dagster_project.feast_ext.feature_tables import FEATURE_VIEWS

    materialized = {
        event.asset_key.to_user_string(): {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}
        for event in result.get_asset_materialization_events()
    }
    summary = RunSummary(failed_steps=_step_failures(result))
    summary.partitions = sorted({e.materialization.partition for e in result.get_asset_materialization_events()
                                 if e.materialization.partition})
    summary.sources = [_source_line(contract.name, materialized, summary.failed_steps) for contract in CONTRACTS]
    _add_checks(summary, list(result.get_asset_check_evaluations()))
    _add_views(summary, materialized)
    return summary


def _step_failures(result) -> dict[str, str]:
    import dagster as dg

    failures: dict[str, str] = {}
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            message = error.message if error else event.message
            # dg.Failure carries its description; exceptions their message (cause first line)
            if error is not None and error.cause is not None and "Error occurred while" in (error.message or ""):
                message = error.cause.message
            failures[event.step_key] = _first_line(message)
    return failures


def _source_line(name: str, materialized: dict[str, dict], failures: dict[str, str]) -> SourceLine:
    line = SourceLine(name=name)
    meta = materialized.get(f"raw/{name}")
    failed = next((m for step, m in failures.items() if name in step), None)
    if meta is not None and "delivery_rejected" in meta:
        # rejected as a whole: the table keeps its last good load (defs/checks/delivery.py)
        line.status, line.message = "failed", _first_line(str(meta["delivery_rejected"]))
    elif meta is not None:
        line.status = "loaded"
        line.rows_read = int(meta.get("rows_read", 0))
        line.rows_loaded = int(meta.get("rows_loaded", 0))
        line.rows_quarantined = int(meta.get("rows_quarantined", 0))
        line.duplicates_removed = int(meta.get("duplicates_removed", 0))
        line.rows_suppressed = int(meta.get("rows_suppressed", 0))
        ignored = meta.get("ignored_files")
        line.ignored_files = len(ignored) if isinstance(ignored, (list, dict)) else None
    if failed is not None and line.status != "failed":
        line.status, line.message = "failed", failed
    return line


def _add_checks(summary: RunSummary, check_results: list) -> None:
    """Failed error-level checks, the feature gates and the orphan counts."""
    import dagster as dg

    summary.failed_checks = [
        f"{e.asset_key.to_user_string()}:{e.check_name}" for e in check_results
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    for evaluation in check_results:
        if evaluation.check_name.endswith("_expectations") and evaluation.asset_key.path[0] == "features":
            view = evaluation.asset_key.path[-1]
            summary.gates[view] = evaluation.passed
            meta = {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}
            note = meta.get("baseline")
            if note:
                summary.gate_notes[view] = _first_line(str(note), 120)
        elif evaluation.check_name == "orphan_rate_within_limit":
            # the audit check already counted them (defs/checks/orphans.py)
            by_kind = getattr(evaluation.metadata.get("orphans_by_kind"), "value", None) or {}
            summary.orphans = {kind: v["orphans"] for kind, v in sorted(by_kind.items()) if v["orphans"]}


def _add_views(summary: RunSummary, materialized: dict[str, dict]) -> None:
    """Each feature view: published, held back (by its gate or a failed source), or missing."""
    from dagster_project.feast_ext.feature_tables import FEATURE_VIEWS

    failures = summary.failed_steps
    for view in FEATURE_VIEWS:
        if f"online_store/{view}" in materialized:
            summary.views_published.append(view)
        elif summary.gates.get(view) is False:
            summary.views_held_back[view] = "its quality gate blocked"
        elif any(s.status == "failed" for s in summary.sources) and not any(
            view in step for step in failures
        ):
            summary.views_held_back[view] = "an upstream source failed"
        else:
            step = next((s for s in failures if view in s), None)
            summary.views_missing[view] = failures[step] if step else "not materialized"


def run_log_path(settings, run_id: str) -> Path:
    """`<data-dir>/logs/run-<UTC time>-<run id prefix>.log`: the run's every event and log message."""
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return logs / f"run-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-{run_id[:8]}.log"


# ---------------------------------------------------------------- commands

def run(settings, partition_range: tuple[str, str] | None = None, *, quiet: bool = False, instance=None,
        run_id: str | None = None, log_path: Path | None = None, header: bool = True) -> RunSummary:
    """Run full_pipeline (a full refresh, or the given delivery days) and summarize it. The
    terminal gets one line per asset (none when quiet) and the warnings and errors; the log file
    (default: run_log_path) every event and log message of Dagster and dbt."""
    import dagster as dg

    from dagster_project.pipeline import build_job, run_pipeline
    from dagster_project.run_log import LogWriter, RunProgress, expected_checks, log_to_file

    if not settings.landing_dir.is_dir():
        raise SystemExit(f"rcl run: the landing folder {settings.landing_dir} does not exist "
                         "(give --landing-dir, or set RCL_LANDING_DIR)")
    warnings.filterwarnings("ignore", message="Parameter `backfill_policy`")
    os.environ.setdefault("TQDM_DISABLE", "1")  # validation progress bars
    started = time.perf_counter()
    run_id = run_id or str(uuid.uuid4())  # a Dagster run id
    log_path = log_path or run_log_path(settings, run_id)
    instance = instance or dg.DagsterInstance.ephemeral()
    if header and not quiet:
        print(f"rcl run: {_describe(partition_range)} of {settings.landing_dir} into {settings.data_dir}\n"
              f"Full log: {log_path}", flush=True)
    with log_to_file(log_path):
        job_def = build_job(settings)
        instance.add_event_listener(run_id, RunProgress(None if quiet else sys.stdout, expected_checks(job_def)))
        # Dagster's console logger stays quiet: the listener logs every event (warnings to the terminal)
        # dagster-dbt echoes dbt's output to sys.stdout, a new instance prints its telemetry notice to
        # sys.stderr: both to the log file (the terminal's handler keeps the real stderr)
        with contextlib.redirect_stdout(LogWriter("dbt")), contextlib.redirect_stderr(LogWriter("stderr")):
            result = run_pipeline(settings, instance=instance, partition_range=partition_range,
                                  log_level="CRITICAL", run_id=run_id, job_def=job_def)
    summary = summarize_run(result)
    summary.log_path = log_path
    summary.seconds = time.perf_counter() - started
    return summary


def _describe(partition_range: tuple[str, str] | None) -> str:
    if partition_range is None:
        return "a full refresh"
    first, last = partition_range
    return f"delivery day {first}" if first == last else f"delivery days {first} to {last}"


def _cmd_run(args) -> int:
    settings = settings_for(args.data_dir, args.landing_dir, args.online_store)
    instance = _instance(args)
    from dagster_project.run_log import terminal_logging

    terminal_logging()  # warnings and errors on stderr, in full; the rest goes to the run's log file
    summary = run(settings, args.partition, quiet=args.quiet, instance=instance)
    print(summary.render())
    return summary.exit_code


def _cmd_sample(args) -> int:
    from dagster_project.sample_data.generator import generate

    from dagster_project.sample_data.worlds import world_settings

    settings = settings_for(args.data_dir, args.landing_dir)
    summary = generate(settings.landing_dir, scale=args.scale, seed=args.seed, world=args.world)
    print(f"rcl sample: wrote the {args.world} world to {settings.landing_dir}: {summary}")
    # what this world's data means, as a deployment would configure it
    exports = " ".join(
        f"RCL_{name.upper()}={('true' if value else 'false') if isinstance(value, bool) else value}"
        for name, value in world_settings(args.world).items()
    )
    print(f"Its deployment settings, for `rcl run`: export {exports}")
    return EXIT_OK


def _cmd_baseline(args) -> int:
    """Accept (or show) a feature table's profile as the deployment's baseline for its gate."""
    from expectations.baseline import main as baseline_main

    settings = settings_for(args.data_dir)  # --data-dir moves every path derived from it
    argv = [args.action, "--table", args.table]
    if args.data_dir is not None:
        argv += ["--data-dir", str(args.data_dir)]
    return baseline_main(argv, settings=settings)


def _cmd_env(args) -> int:
    """The settings as shell exports, for dbt or `feast serve` by hand: eval "$(rcl env)" (the
    PII salt included: the data dir's, created when RCL_PII_SALT is unset)."""
    import shlex

    from dagster_project.pii_salt import with_pii_salt

    for name, value in sorted(with_pii_salt(settings_for(args.data_dir)).env().items()):
        print(f"export {name}={shlex.quote(value)}")
    return EXIT_OK


def _cmd_dbt(args) -> int:
    """dbt in the project folder, with the settings' variables (defaults included)."""
    import subprocess

    from dagster_project.defs.project import DBT_EXECUTABLE
    from dagster_project.pii_salt import with_pii_salt
    from dagster_project.settings import DBT_PROJECT_DIR

    settings = with_pii_salt(settings_for(args.data_dir))
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)  # dbt-duckdb creates the file only
    settings.features_dir.mkdir(parents=True, exist_ok=True)
    dbt_args = args.dbt_args[1:] if args.dbt_args[:1] == ["--"] else args.dbt_args
    return subprocess.run([DBT_EXECUTABLE, *dbt_args], cwd=DBT_PROJECT_DIR,
                          env={**os.environ, **settings.env()}).returncode


def _cmd_lineage(args) -> int:
    """A feature's lineage down to the landing folders (dagster_project/lineage.py)."""
    import json

    from dagster_project.lineage import UnknownFeature, feature_lineage, render

    try:
        lineage = feature_lineage(settings_for(args.data_dir), args.feature, refresh_manifest=args.parse)
    except UnknownFeature as exc:
        print(f"rcl lineage: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    print(json.dumps(lineage, indent=2) if args.json else render(lineage))
    return EXIT_OK


def _instance(args):
    """The Dagster instance of DAGSTER_HOME when set (the UI then shows the run), else ephemeral."""
    if os.environ.get("DAGSTER_HOME"):
        from dagster import DagsterInstance

        Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
        return DagsterInstance.get()
    return None


def _scale(value: str) -> str | float:
    try:
        return float(value)
    except ValueError:
        return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rcl", description="Retail context layer: customer data layer and feature store.")
    sub = parser.add_subparsers(dest="command", required=True)

    run_parser = sub.add_parser("run", help="run the whole pipeline on a landing folder",
                                description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    run_parser.add_argument("--landing-dir", type=Path, default=None,
                            help="folder of the source systems' files (default: RCL_LANDING_DIR, else <data-dir>/landing)")
    run_parser.add_argument("--data-dir", type=Path, default=None,
                            help="where the warehouse, features and online store live (default: RCL_DATA_DIR)")
    run_parser.add_argument("--partition", type=parse_partition, default=None, metavar="DAY|FIRST..LAST",
                            help="only these delivery days (default: a full refresh of every file)")
    run_parser.add_argument("--online-store", choices=("sqlite", "redis"), default=None,
                            help="default: RCL_ONLINE_STORE, else sqlite")
    run_parser.add_argument("--quiet", action="store_true", help="only the summary")
    run_parser.set_defaults(func=_cmd_run)

    sample_parser = sub.add_parser("sample", help="write a generated shop's landing files (for trying things out)")
    sample_parser.add_argument("--world", default="default", help="which generated retailer (default: default)")
    sample_parser.add_argument("--scale", type=_scale, default="small")
    sample_parser.add_argument("--seed", type=int, default=42)
    sample_parser.add_argument("--data-dir", type=Path, default=None)
    sample_parser.add_argument("--landing-dir", type=Path, default=None)
    sample_parser.set_defaults(func=_cmd_sample)

    from dagster_project.feast_ext.feature_tables import FEATURE_VIEWS

    baseline_parser = sub.add_parser(
        "baseline", help="accept a feature table's data as its gate's new baseline (after an intended change)")
    baseline_parser.add_argument("action", choices=("accept", "show"))
    baseline_parser.add_argument("table", choices=FEATURE_VIEWS)
    baseline_parser.add_argument("--data-dir", type=Path, default=None)
    baseline_parser.set_defaults(func=_cmd_baseline)

    from dagster_project.serving.server import add_serve_command

    add_serve_command(sub)  # rcl serve: the online feature server (dagster_project/serving)
    env_parser = sub.add_parser("env", help="print the settings as shell exports (eval \"$(rcl env)\")")
    env_parser.add_argument("--data-dir", type=Path, default=None)
    env_parser.set_defaults(func=_cmd_env)

    dbt_parser = sub.add_parser("dbt", help="run dbt by hand with the settings (rcl dbt [--data-dir DIR] -- build -s MODEL)")
    dbt_parser.add_argument("--data-dir", type=Path, default=None)
    dbt_parser.add_argument("dbt_args", nargs=argparse.REMAINDER, help="dbt's own arguments")
    dbt_parser.set_defaults(func=_cmd_dbt)

    from dagster_project.feast_ext.training_recipes import add_training_set_command

    add_training_set_command(sub)  # rcl training-set: a feature service's training set with its manifest

    lineage_parser = sub.add_parser(
        "lineage", help="where a feature comes from: view, services, dbt models, sources, landing files")
    lineage_parser.add_argument("feature", help="VIEW:FEATURE, or a feature name only one view has")
    lineage_parser.add_argument("--data-dir", type=Path, default=None, help="default: RCL_DATA_DIR")
    lineage_parser.add_argument("--json", action="store_true", help="machine-readable output")
    lineage_parser.add_argument("--parse", action="store_true", help="re-parse the dbt project first (after editing models)")
    lineage_parser.set_defaults(func=_cmd_lineage)
    from dagster_project.privacy.command import add_forget_command

    add_forget_command(sub)  # rcl forget: the right to be forgotten (docs/privacy.md)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:  # bad settings or input: a message, not a stack trace
        print(f"rcl: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
