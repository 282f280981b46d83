"""Training-set recipes: label rows of a consumer (entity keys + label timestamp) joined point in
time to a named feature service, saved as Parquet with a JSON manifest next to it that says what
was built from what (service and version, features, data snapshot, code version).

The label rows of the consumers that exist are SQL over the published warehouse (`LABEL_QUERIES`);
how each consumer's rows are built, and why those timestamps: docs/training_sets.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Union

import pandas as pd

from dagster_project.settings import REPO_ROOT, Settings

MANIFEST_SUFFIX = ".manifest.json"

# Label rows per consumer: entity keys, `event_timestamp` (the moment a prediction would have
# been made: features must be known by then) and the label, decided only by what happens after.
LABEL_QUERIES = {
    # customer x viewed product, at the view: bought within 7 days after it?
    "personalization": """
        select v.customer_id, v.product_id, v.viewed_at as event_timestamp,
               exists (select 1 from marts.order_lines l
                       where l.customer_id = v.customer_id and l.product_id = v.product_id
                         and not l.is_cancelled
                         and l.ordered_at > v.viewed_at and l.ordered_at <= v.viewed_at + interval 7 day)
                   as label_purchased_7d
        from marts.product_views v
        where v.customer_id is not null and v.product_id is not null
    """,
    # product x week start (the moment copy would be written): units ordered in the week after
    "product_content": """
        with weeks as (
            select distinct date_trunc('week', ordered_at) + interval 7 day as event_timestamp
            from marts.order_lines where ordered_at is not null
        )
        select p.product_id, w.event_timestamp,
               coalesce((select sum(l.quantity) from marts.order_lines l
                         where l.product_id = p.product_id and not l.is_cancelled
                           and l.ordered_at >= w.event_timestamp
                           and l.ordered_at < w.event_timestamp + interval 7 day), 0) as label_units_next_7d
        from marts.products p cross join weeks w
    """,
    # an identified customer's cart, one hour after its last activity (when a reminder would go
    # out): ordered after that?
    "cart_recovery": """
        select c.customer_id, c.last_activity_at + interval 1 hour as event_timestamp,
               coalesce(c.ordered_at > c.last_activity_at + interval 1 hour, false) as label_recovered
        from marts.carts c
        where c.customer_id is not null and c.last_activity_at is not null
          and (c.ordered_at is null or c.ordered_at > c.last_activity_at + interval 1 hour)
        qualify row_number() over (partition by c.customer_id, c.last_activity_at order by c.cart_id) = 1
    """,
    # product x location after a stock count (midday of the next day, when a message would be
    # shown): out of stock at a count within the next 7 days? Counts whose 7 days run past the
    # last count are left out (their label is not known yet).
    "availability": """
        with positions as (select * from marts.inventory_positions where not has_unknown_location),
        last_count as (select max(position_date) as last_date from positions)
        select p.product_id, p.location_id,
               cast(p.position_date as timestamp) + interval 36 hour as event_timestamp,
               exists (select 1 from positions later
                       where later.product_id = p.product_id and later.location_id = p.location_id
                         and later.position_date > p.position_date
                         and later.position_date <= p.position_date + interval 7 day
                         and later.is_stock_out) as label_stock_out_7d
        from positions p, last_count
        where p.position_date + interval 7 day <= last_count.last_date
    """,
    # an identified customer's order line, at the order: returned (return requested) within 30
    # days? Lines whose 30 days run past the last order are left out (label not known yet).
    "returns_risk": """
        with last_order as (select max(ordered_at) as last_at from marts.order_lines)
        select l.customer_id, l.product_id, l.ordered_at as event_timestamp,
               exists (select 1 from marts.returns r
                       where r.order_line_id = l.order_line_id
                         and r.requested_at <= l.ordered_at + interval 30 day) as label_returned_30d
        from marts.order_lines l, last_order
        where l.customer_id is not null and l.product_id is not null and not l.is_cancelled
          and l.ordered_at + interval 30 day <= last_order.last_at
    """,
    # a content impression (variant x the audience's segment), at the impression: the reward a
    # bandit learns from (add-to-cart for page copy, open for a subject line) within a day?
    "content_variants": """
        with last_impression as (select max(impressed_at) as last_at from marts.content_impressions)
        select i.variant_id, i.segment, i.impressed_at as event_timestamp,
               coalesce(i.succeeded_at <= i.impressed_at + interval 1 day, false) as label_succeeded_1d
        from marts.content_impressions i, last_impression
        where i.impressed_at + interval 1 day <= last_impression.last_at
    """,
}


def label_rows(settings: Settings, consumer: str) -> pd.DataFrame:
    """A consumer's label rows from the published warehouse (read-only)."""
    import duckdb

    if consumer not in LABEL_QUERIES:
        raise ValueError(f"no label recipe for {consumer!r}; recipes: {', '.join(sorted(LABEL_QUERIES))} "
                         "(other consumers: build the rows as docs/training_sets.md describes)")
    with duckdb.connect(str(settings.published_warehouse), read_only=True) as conn:
        conn.execute("set TimeZone = 'UTC'")
        frame = conn.execute(LABEL_QUERIES[consumer]).df()
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True)
    return frame.sort_values([c for c in frame.columns if c != frame.columns[-1]]).reset_index(drop=True)


def service_version(service_name: str) -> tuple[str, int | None]:
    """`<consumer>_v<N>` -> (consumer, N); a name without a version -> (name, None)."""
    match = re.fullmatch(r"(.+)_v(\d+)", service_name)
    return (match.group(1), int(match.group(2))) if match else (service_name, None)


def consented_rows(settings: Settings, store, channel: str, entity_df: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The label rows whose customer's consent for `channel` was in force at the row's label time
    (point in time: the consent view joined like any feature), and what was left out. Never
    recorded follows settings.consent_never_recorded, as in serving (docs/privacy.md, Consent)."""
    from dagster_project.feast_ext.offline_store import normalized_entity_frame, training_set

    source = next((v for v in store.list_feature_views()
                   if channel in v.tags.get("consent_channels", "").split(",")), None)
    if source is None:
        raise ValueError(f"no feature view is tagged with consent_channels holding {channel!r}")
    frame = normalized_entity_frame(entity_df).reset_index(drop=True)
    (key,) = source.join_keys
    stamp = next(c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c]))
    probe = frame[[key, stamp]].assign(rcl_label_row=range(len(frame)))
    joined = training_set(settings, probe, [f"{source.name}:{channel}_consent"]).to_df()
    consent = {row: None if pd.isna(value) else bool(value)
               for row, value in zip(joined["rcl_label_row"], joined[f"{channel}_consent"])}
    unknown_allowed = settings.consent_never_recorded == "not_withdrawn"
    keep = [consent.get(i) is True or (consent.get(i) is None and unknown_allowed) for i in range(len(frame))]
    kept = frame[keep].reset_index(drop=True)
    return kept, {"channel": channel, "never_recorded": settings.consent_never_recorded,
                  "label_rows": len(frame), "excluded_rows": len(frame) - len(kept)}


def build_training_set(settings: Settings, service_name: str, entity_df: Union[pd.DataFrame, str, Path],
                       out_path: Union[str, Path], *, overwrite: bool = False, exclude_withdrawn: bool = False) -> dict:
    """The named feature service's features for `entity_df` (a DataFrame or a Parquet file of
    entity keys and a label timestamp), point in time, written to `out_path` (Parquet) with the
    manifest next to it (`<out>.manifest.json`). Returns the manifest. `exclude_withdrawn`: for a
    service tagged requires_consent, leave out the label rows whose customer had not given that
    consent at the label time (the manifest's `consent` says how many)."""
    from dagster_project.feast_ext.offline_store import training_set
    from dagster_project.feast_ext.repo import get_feature_store

    out_path = Path(out_path)
    store = get_feature_store(settings)
    service = store.get_feature_service(service_name)  # a clear Feast error for an unknown service
    if isinstance(entity_df, (str, Path)):
        entity_df = pd.read_parquet(entity_df)
    consent = None
    if exclude_withdrawn and service.tags.get("requires_consent"):
        entity_df, consent = consented_rows(settings, store, service.tags["requires_consent"], entity_df)
    entity_df, filled = with_request_times(store, service, entity_df)
    result = training_set(settings, entity_df, service_name, out_path, overwrite=overwrite)
    views = {v.name: v for v in store.list_feature_views()}
    used = [views[p.name] for p in service.feature_view_projections if p.name in views]
    consumer, version = service_version(service_name)
    manifest = {
        "feature_service": service_name, "consumer": consumer, "version": version,
        "features": [f"{p.name_to_use()}:{f.name}" for p in service.feature_view_projections for f in p.features],
        "entity_columns": [c for c in entity_df.columns if c not in filled],
        "request_fields_from_label_time": filled,
        "label_time_range": _time_range(entity_df),
        "rows": result.rows, "null_key_rows": result.null_key_rows, "unknown_key_rows": result.unknown_key_rows,
        "data_snapshot": data_snapshot(settings, used),
        "code_version": code_version(),
        **({"consent": consent} if consent else {}),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "path": out_path.name,
    }
    manifest_path(out_path).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest


def with_request_times(store, service, entity_df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The entity rows with each request field of the service's on-demand views that is tagged
    `filled_from: event_timestamp` and not given, set to the row's label time (what the serving
    clock would have said when the prediction was made); and the names of the fields so filled."""
    from feast.types import UnixTimestamp

    on_demand = {v.name: v for v in store.list_on_demand_feature_views()}
    filled = {}
    for projection in service.feature_view_projections:
        for source in getattr(on_demand.get(projection.name), "source_request_sources", {}).values():
            if source.tags.get("filled_from") != "event_timestamp":
                continue
            for field in source.schema:
                if field.name not in entity_df.columns and "event_timestamp" in entity_df.columns:
                    times = pd.to_datetime(entity_df["event_timestamp"], utc=True)
                    filled[field.name] = times if field.dtype == UnixTimestamp else (
                        (times - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).astype("int64")
    return (entity_df.assign(**filled) if filled else entity_df), sorted(filled)


def manifest_path(out_path: Union[str, Path]) -> Path:
    out_path = Path(out_path)
    return out_path.with_name(out_path.stem + MANIFEST_SUFFIX)


def _time_range(entity_df: pd.DataFrame) -> list[str] | None:
    from dagster_project.feast_ext.offline_store import normalized_entity_frame

    frame = normalized_entity_frame(entity_df)
    times = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
    if not times or frame.empty:
        return None
    return [frame[times[0]].min().isoformat(), frame[times[0]].max().isoformat()]


def data_snapshot(settings: Settings, views: list) -> dict:
    """What the features were read from: each view's Parquet file (sha256, bytes, mtime, rows,
    latest event time), the published warehouse build, and the pipeline run that wrote them."""
    import duckdb

    tables = {}
    with duckdb.connect() as con:  # its own connection: the module-wide one keeps unfinished results
        for view in views:
            tables.update(_table_facts(con, view))
    digest = hashlib.sha256(json.dumps({k: v.get("sha256") for k, v in sorted(tables.items())}).encode()).hexdigest()
    return {"snapshot_id": digest[:16], "feature_tables": tables,
            "published_build": _published_build(settings), "pipeline_run": _latest_run(settings, tables)}


def _table_facts(con, view) -> dict:
    path = Path(view.batch_source.path)
    if not path.exists():
        return {view.name: {"file": path.name, "missing": True}}
    rows, latest = con.execute(
        f"select count(*), max({view.batch_source.timestamp_field}) from read_parquet(?)", [str(path)]).fetchone()
    return {view.name: {"file": path.name, "sha256": _sha256(path), "bytes": path.stat().st_size,
                        "modified_at": _mtime(path), "rows": rows, "latest_event_timestamp": str(latest)}}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")


def _published_build(settings: Settings) -> str | None:
    """The build the analysts' path points at (its file name carries the publish time)."""
    link = settings.published_warehouse
    return Path(os.readlink(link)).name if link.is_symlink() else None


def _latest_run(settings: Settings, tables: dict) -> dict | None:
    """The pipeline run that wrote the feature tables: in the Dagster instance of DAGSTER_HOME,
    the successful `full_pipeline` run during which the newest table was written; else the
    newest event log `rcl run` left in `<data-dir>/logs/` (`run-<UTC time>-<run id prefix>.log`);
    None when neither says."""
    written = max((Path(settings.features_dir, t["file"]).stat().st_mtime for t in tables.values()
                   if not t.get("missing")), default=None)
    if written is not None and os.environ.get("DAGSTER_HOME"):
        from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

        with DagsterInstance.get() as instance:
            for record in instance.get_run_records(
                    RunsFilter(job_name="full_pipeline", statuses=[DagsterRunStatus.SUCCESS]), limit=50):
                if record.start_time and record.end_time and record.start_time <= written <= record.end_time:
                    return {"run_id": record.dagster_run.run_id, "source": "dagster",
                            "started_at": datetime.fromtimestamp(record.start_time, timezone.utc).isoformat(timespec="seconds")}
    logs = sorted((settings.data_dir / "logs").glob("run-*.log"))
    if not logs:
        return None
    _, stamp, run_id = logs[-1].stem.split("-", 2)
    return {"run_id_prefix": run_id, "source": "rcl run event log", "logged_at": stamp, "event_log": logs[-1].name}


def code_version() -> dict:
    """The git commit of this checkout (and whether it has uncommitted changes), else the
    installed package's version."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip() != ""
        return {"git_commit": commit, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        from importlib.metadata import PackageNotFoundError, version

        try:
            return {"package_version": version("retail-context-layer")}
        except PackageNotFoundError:
            return {"package_version": None}


# ------------------------------------------------------------------ rcl training-set

def add_training_set_command(sub) -> None:
    """`rcl training-set`: registered on the command line's subparsers."""
    parser = sub.add_parser(
        "training-set", help="a feature service's point-in-time training set, with its manifest (docs/training_sets.md)")
    parser.add_argument("--service", required=True, help="feature service, e.g. personalization_v1")
    rows = parser.add_mutually_exclusive_group(required=True)
    rows.add_argument("--entities", type=Path, help="Parquet file of entity keys and a label timestamp")
    rows.add_argument("--labels", choices=sorted(LABEL_QUERIES), help="build the label rows with a consumer's recipe")
    parser.add_argument("--out", type=Path, required=True, help="Parquet file to write (manifest: <out>.manifest.json)")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--exclude-withdrawn", action="store_true",
                        help="for a service tagged requires_consent: leave out rows whose consent was not in force then")
    parser.set_defaults(func=_cmd_training_set)


def _cmd_training_set(args) -> int:
    from dagster_project.cli import settings_for

    settings = settings_for(args.data_dir)
    entities = args.entities if args.entities is not None else label_rows(settings, args.labels)
    manifest = build_training_set(settings, args.service, entities, args.out, overwrite=args.overwrite,
                                  exclude_withdrawn=args.exclude_withdrawn)
    snapshot = manifest["data_snapshot"]
    print(f"{manifest['rows']} rows x {len(manifest['features'])} features of {args.service} -> {args.out}\n"
          f"manifest: {manifest_path(args.out)} (snapshot {snapshot['snapshot_id']}, "
          f"build {snapshot['published_build']}, code {manifest['code_version']})")
    return 0
