"""`make demo`: generate the sample shop, materialize every asset through Dagster, and read a few
online feature vectors back through Feast.

    python -m dagster_project.demo [--scale small] [--seed 42] [--keep-data] [--data-dir DIR]
    python -m dagster_project.demo --prepare-only     # only parse the dbt project (for `make dev`)
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
import uuid
from pathlib import Path

from dagster_project.settings import REPO_ROOT, Settings

log = logging.getLogger("demo")


def print_online_features(settings, shown: int = 4) -> None:
    """One online vector per feature service of the registry, one line each: the service, the
    entity it was read for, its first few non-null features and how many it has."""
    from dagster_project.feast_ext.repo import get_feature_store

    store = get_feature_store(settings)
    print("\nOnline features, one vector per feature service:")
    for service in sorted(store.list_feature_services(), key=lambda s: s.name):
        try:
            row = demo_entity_row(store, service)
            vector = store.get_online_features(features=service, entity_rows=[row]).to_dict()
        except Exception as exc:  # one service that cannot be read must not hide the others
            print(f"  {service.name}: not readable ({exc.__class__.__name__}: {str(exc)[:120]})")
            continue
        # in the service's order (Feast's answer is keyed by feature name)
        names = [f.name for p in service.feature_view_projections for f in p.features]
        features = {k: vector[k][0] for k in dict.fromkeys(names) if k in vector}
        present = [f"{k}={_short(v)}" for k, v in features.items() if v is not None][:shown]
        entity = " ".join(f"{k}={v}" for k, v in row.items() if k in demo_entity_keys(store, service))
        print(f"  {service.name}  [{entity}]  {len(features)} features: {', '.join(present) or '(none present)'}")


def _short(value) -> str:
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return text if len(text) <= 24 else text[:21] + "..."


def demo_entity_keys(store, service) -> list[str]:
    """The join keys a service's batch views are looked up by, in service order."""
    views = {v.name: v for v in store.list_feature_views()}
    keys: list[str] = []
    for projection in service.feature_view_projections:
        for column in views[projection.name].entity_columns if projection.name in views else []:
            keys += [column.name] if column.name not in keys else []
    return keys


def demo_entity_row(store, service) -> dict:
    """An entity row for a service: per view, the keys of its latest feature row (agreeing with
    keys already chosen where that view has such a row), plus a value for each request field of
    its on-demand views."""
    import duckdb

    views = {v.name: v for v in store.list_feature_views()}
    on_demand = {v.name: v for v in store.list_on_demand_feature_views()}
    row: dict = {}
    with duckdb.connect() as con:
        for view in filter(None, (views.get(p.name) for p in service.feature_view_projections)):
            keys = [c.name for c in view.entity_columns]
            if not all(k in row for k in keys):
                row.update({k: v for k, v in _latest_keys(con, view, keys, row).items() if k not in row})
    for projection in service.feature_view_projections:
        for source in getattr(on_demand.get(projection.name), "source_request_sources", {}).values():
            row.update({f.name: _request_value(f.dtype) for f in source.schema if f.name not in row})
    return row


def _latest_keys(con, view, keys: list[str], row: dict) -> dict:
    """The keys of the view's latest row, agreeing with the keys already chosen if it has one."""
    table, ts = f"read_parquet('{view.batch_source.path}')", view.batch_source.timestamp_field
    agreeing = " and ".join(f"{k} = ?" for k in keys if k in row) or "true"
    for where, params in ((agreeing, [row[k] for k in keys if k in row]), ("true", [])):
        found = con.execute(f"select {', '.join(keys)} from {table} where {where} and "
                            f"{' and '.join(f'{k} is not null' for k in keys)} order by {ts} desc limit 1",
                            params).fetchall()
        if found:
            return dict(zip(keys, found[0]))
    return {}


def _request_value(dtype):
    """A plausible request-time value for the demo's read of an on-demand view."""
    from datetime import datetime, timezone

    name = str(dtype)
    if "Timestamp" in name:
        return datetime.now(timezone.utc)
    if "Float" in name:
        return 1.0
    if "Int" in name:
        return 1
    if "Bool" in name:
        return True
    return ""


def sample_world_settings(world: str = "default", environ=None) -> Settings:
    """The configured settings with the generated world's deployment settings (phone numbering,
    the shop's domains, ...) wherever the environment does not set them itself."""
    from dataclasses import replace

    from dagster_project.sample_data.worlds import world_settings

    env = os.environ if environ is None else environ
    chosen = {k for k in world_settings(world) if env.get(f"RCL_{k.upper()}")}
    return replace(Settings.from_env(env), **{k: v for k, v in world_settings(world).items() if k not in chosen})


def demo_settings(data_dir: Path | None = None, environ=None) -> Settings:
    """The sample world's settings, under `data_dir` when given (every path derived from it)."""
    env = dict(os.environ if environ is None else environ)
    if data_dir is not None:
        from dagster_project.cli import _DERIVED_PATH_VARIABLES

        env["RCL_DATA_DIR"] = str(Path(data_dir).resolve())
        for name in (*_DERIVED_PATH_VARIABLES, "RCL_LANDING_DIR"):
            env.pop(name, None)
    return sample_world_settings(environ=env)


def delivery_partitions(settings: Settings, environ=None) -> Settings:
    """Daily partitions from the first to the last delivery day of the landing folder (a sample
    shop receives no further deliveries), unless the environment sets them."""
    from dataclasses import replace

    from dagster_project.settings import first_delivery_day, last_delivery_day

    env = os.environ if environ is None else environ
    start = env.get("RCL_PARTITIONS_START") or first_delivery_day(settings.landing_dir) or settings.partitions_start
    end = env.get("RCL_PARTITIONS_END") or last_delivery_day(settings.landing_dir)
    return replace(settings, partitions_start=start, partitions_end=end)


def dagster_home(settings: Settings) -> Path:
    """DAGSTER_HOME when set; else the repository's .dagster_home for the default data dir (the
    folder `make dev` shows), or a .dagster_home inside another data dir."""
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"])
    default = Settings.from_env({}).data_dir
    return REPO_ROOT / ".dagster_home" if settings.data_dir == default else settings.data_dir / ".dagster_home"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="small", help="sample size: small (default), standard, or a multiplier")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: RCL_DATA_DIR, else ./data")
    parser.add_argument("--keep-data", action="store_true", help="reuse existing landing files")
    parser.add_argument("--prepare-only", action="store_true", help="only parse the dbt project")
    parser.add_argument("--last-delivery-day", action="store_true",
                        help="print the landing folder's last delivery day (the partitions' end for `make dev`)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = demo_settings(args.data_dir)
    if args.last_delivery_day:
        print(delivery_partitions(settings).partitions_end or "")
        return 0
    if args.prepare_only:
        from dagster_project.defs.project import ensure_manifest

        ensure_manifest(settings, refresh=True)
        return 0

    from dagster_project.cli import run_log_path
    from dagster_project.run_log import log_to_file, terminal_logging

    terminal_logging()  # warnings and errors in full; everything else goes to the log file
    for noisy in ("great_expectations", "feast.infra.registry"):  # import-time and cache chatter
        logging.getLogger(noisy).setLevel(logging.WARNING)
    run_id = str(uuid.uuid4())  # a Dagster run id
    log_path = run_log_path(settings, run_id)
    print(f"Log (every Dagster and dbt event): {log_path}", flush=True)
    with log_to_file(log_path):
        return demo(args, settings, run_id, log_path)


def demo(args: argparse.Namespace, settings: Settings, run_id: str, log_path: Path) -> int:
    """Generate the shop (unless kept), run the pipeline, print the summary and a few vectors."""
    started = time.perf_counter()
    if not (args.keep_data and settings.landing_dir.exists()):
        from dagster_project.sample_data.generator import generate

        scale = args.scale if args.scale in ("small", "standard") else float(args.scale)
        summary = generate(settings.landing_dir, scale=scale, seed=args.seed)
        log.info("generated sample data: %s", summary)
        print(f"Generated the sample shop in {time.perf_counter() - started:.0f}s: "
              f"{sum(v for k, v in summary.items() if k != 'seconds'):,} rows in {settings.landing_dir}", flush=True)
    settings = delivery_partitions(settings)
    from dagster import DagsterInstance

    # Dagster's own setting, not ours: the demo's runs show up in `make dev` (same instance folder)
    if not os.environ.get("DAGSTER_HOME"):  # a folder of the demo's own: Dagster's defaults (SQLite)
        os.environ["DAGSTER_HOME"] = str(dagster_home(settings))
        os.makedirs(os.environ["DAGSTER_HOME"], exist_ok=True)
        Path(os.environ["DAGSTER_HOME"], "dagster.yaml").touch()
    # the same code path as `rcl run` on a retailer's own landing folder
    from dagster_project.cli import EXIT_OK, run

    from dagster_project.run_log import LogWriter

    with contextlib.redirect_stdout(LogWriter("dagster")), contextlib.redirect_stderr(LogWriter("stderr")):
        instance = DagsterInstance.get()  # a new instance's notices: to the log file
    summary = run(settings, instance=instance, run_id=run_id, log_path=log_path, header=False)
    print(summary.render(compact=True))
    if summary.exit_code != EXIT_OK:
        print("The pipeline did not complete; open the Dagster UI (make dev) for the run's logs.", file=sys.stderr)
        return summary.exit_code

    print_online_features(settings)
    print(
        f"\nDone in {time.perf_counter() - started:.0f}s.\n"
        f"Warehouse for analysts (the published copy, readable while the pipeline runs): "
        f"duckdb -readonly {settings.published_warehouse}\n"
        f"Dagster UI: make dev  ->  http://127.0.0.1:3000\n"
        f"Log (every Dagster and dbt event): {log_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
