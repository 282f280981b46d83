"""The dbt project as Dagster assets: sources mapped onto the ingestion assets (one connected
lineage), dbt tests as asset checks, models split into steps along the lineage so a failure
stops only what reads it (docs/adr/dbt-steps-along-the-lineage.md)."""

import json
import shutil
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets

from dagster_project.defs.assets.ingestion import raw_asset_key
from dagster_project.defs.domains import dbt_model_group
from dagster_project.defs.partitions import daily_partitions, delivery_window
from dagster_project.defs.project import ProjectDbtCliResource, dbt_project
from dagster_project.defs.resources import RclSettings
from dagster_project.settings import Settings


class RetailDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return raw_asset_key(dbt_resource_props["source_name"], dbt_resource_props["name"])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        # models/<layer>/... -> the model's domain (defs/domains.py)
        fqn = dbt_resource_props.get("fqn", [])
        return dbt_model_group(fqn[1], dbt_resource_props["name"]) if len(fqn) > 2 else "dbt"

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return spec._replace(description=dbt_test_description(manifest["nodes"].get(unique_id, {})))


def dbt_test_description(node: Mapping[str, Any]) -> str | None:
    """What a dbt test checks, for its asset check in the UI: the description its yml gives (singular
    tests, dbt/tests/singular_tests.yml), else the generic test and its arguments."""
    if (node.get("description") or "").strip():
        return " ".join(node["description"].split())
    generic = node.get("test_metadata") or {}
    if not generic:
        return None
    arguments = {k: v for k, v in (generic.get("kwargs") or {}).items() if k != "model" and "{{" not in str(v)}
    shown = ", ".join(f"{k}={v}" for k, v in sorted(arguments.items()))
    return f"dbt test {generic['name']}" + (f" ({shown})" if shown else "")


translator = RetailDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_code_references=False))

DAILY_TAG = "daily"
# A test runs where all the models it reads are built: never against a model of another step
# that this run has not built yet (or built before the error this step reports).
INDIRECT_SELECTION = ["--indirect-selection", "buildable"]
# A step's events reach Dagster from dbt's structured log; its manifest.json and run_results.json
# would cost a second or more per command to write (the code location reads the project's own
# manifest, written by `dbt parse`).
NO_ARTIFACTS = ["--no-write-json"]
# dbt's unit tests check the models' SQL on fixed inputs: they run in the test suite (CI,
# tests/test_dbt_unit_tests.py), not in every build of the warehouse, where their inputs never
# change (dbt's own advice; customer_features: 0.9 s of its 2.2 s of dbt work).
NO_UNIT_TESTS = ["--exclude-resource-type", "unit_test"]


def _models(manifest: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}


def source_systems(manifest: Mapping[str, Any], unique_id: str) -> frozenset[str]:
    """The source systems a model reads, directly or through other models."""
    systems, seen, frontier = set(), set(), [unique_id]
    while frontier:
        node = manifest["nodes"].get(frontier.pop()) or {}
        for parent in node.get("depends_on", {}).get("nodes", []):
            if parent.startswith("source."):
                systems.add(manifest["sources"][parent]["source_name"])
            elif parent not in seen:
                seen.add(parent)
                frontier.append(parent)
    return frozenset(systems)


def dbt_steps(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """name -> {"models": [model names], "partitioned": bool}: how the models are split into steps."""
    models = sorted(_models(manifest).items())
    daily = {uid for uid, node in models if DAILY_TAG in node["tags"]}
    # A daily model of a system that core models read anyway would stop the same steps on its own
    # step: it shares one daily step; a system the core does not read keeps its own.
    core_systems = frozenset().union(*(
        source_systems(manifest, uid) for uid, node in models if uid not in daily and node["fqn"][1] not in ("features", "audit")
    ))
    steps: dict[str, dict[str, Any]] = {}
    for uid, node in models:
        layer = node["fqn"][1]
        if uid in daily:
            systems = source_systems(manifest, uid)
            if len(systems) != 1:
                raise ValueError(f"{node['name']}: a daily model must read exactly one source system, reads {sorted(systems)}")
            name = "dbt_daily" if systems <= core_systems else f"dbt_daily_{next(iter(systems))}"
            partitioned = True
        elif layer == "features":
            name, partitioned = f"dbt_{node['name']}", False
        elif layer == "audit":
            name, partitioned = "dbt_audit", False
        else:
            name, partitioned = "dbt_core", False
        steps.setdefault(name, {"models": [], "partitioned": partitioned})["models"].append(node["name"])
    return steps


def build_dbt_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    partitions = daily_partitions(settings)
    manifest = json.loads(dbt_project.manifest_path.read_text())
    return [
        _build_step(name, step["models"], settings, partitions if step["partitioned"] else None)
        for name, step in dbt_steps(manifest).items()
    ]


def _build_step(name: str, models: list[str], settings: Settings,
                partitions: dg.DailyPartitionsDefinition | None) -> dg.AssetsDefinition:
    partition_args = {"partitions_def": partitions, "backfill_policy": dg.BackfillPolicy.single_run()} if partitions else {}

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        dagster_dbt_translator=translator,
        name=name,
        select=" ".join(sorted(models)),
        **partition_args,
    )
    def _step(context: dg.AssetExecutionContext, dbt: ProjectDbtCliResource, rcl_settings: RclSettings):
        run_settings = rcl_settings.settings
        args, window_env = ["build", *INDIRECT_SELECTION, *NO_ARTIFACTS, *NO_UNIT_TESTS], {}
        if partitions is not None:
            window = delivery_window(context, partitions, run_settings)
            if window.full:
                args.append("--full-refresh")
            window_env = window.dbt_env
            context.log.info(f"incremental models over {window.describe()}")
        yield from _run_dbt(context, dbt, args, run_settings, step=name, extra_env=window_env)

    return _step


def _run_dbt(context: dg.AssetExecutionContext, dbt: ProjectDbtCliResource, args: list[str], settings: Settings,
             step: str, extra_env: Mapping[str, str] | None = None):
    from dagster_project.defs.project import keep_partial_parse, seed_partial_parse, step_target_path
    from dagster_project.pii_salt import with_pii_salt

    settings = with_pii_salt(settings)  # dbt hashes emails and phones: the salt must be the data dir's
    # dbt-duckdb creates neither the database's folder nor the Parquet exports' folder
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    settings.features_dir.mkdir(parents=True, exist_ok=True)
    target = step_target_path(step, context.run.run_id)
    seed_partial_parse(settings, target)  # parse only what changed since this data dir's last command
    # the profile and project read the settings' variables
    invocation = dbt.cli(args, context=context, env={**settings.env(), **(extra_env or {})}, target_path=target)
    # Row counts are read once dbt has exited: while it runs, the dbt process is the
    # warehouse's one writer and no other connection may open the file.
    events, failure = [], None
    try:
        events.extend(invocation.stream())
    except Exception as exc:  # report what did build, then fail the step
        failure = exc
    keep_partial_parse(settings, target)
    yield from with_row_counts(events, invocation.manifest, settings)
    if failure is not None:
        raise failure  # the step's target folder stays: dbt.log and the compiled SQL of what failed
    shutil.rmtree(target, ignore_errors=True)


ORPHAN_RATES_MODEL = "orphan_rates"


def with_row_counts(events: list, manifest: Mapping[str, Any], settings: Settings):
    import duckdb

    conn = None
    if settings.warehouse_path.exists():
        # bounded like every other connection of the pipeline
        conn = duckdb.connect(str(settings.warehouse_path), read_only=True,
                              config={"memory_limit": settings.duckdb_memory_limit})
    try:
        for event in events:
            if isinstance(event, dg.Output) and conn is not None and "unique_id" in event.metadata:
                node = manifest["nodes"].get(event.metadata["unique_id"].value, {})
                extra = {"dagster/column_schema": column_schema(conn, node)} if node.get("relation_name") else {}
                # tables only: counting a view runs its whole query (a staging view deduplicating
                # a year of snapshots), in this process
                if node.get("relation_name") and node.get("config", {}).get("materialized") != "view":
                    (rows,) = conn.execute(f"select count(*) from {node['relation_name']}").fetchone()
                    extra["dagster/row_count"] = rows
                    if node.get("name") == ORPHAN_RATES_MODEL:
                        extra.update(orphan_metadata(conn, node["relation_name"]))
                if extra:
                    event = event.with_metadata({**event.metadata, **extra})
            yield event
    finally:
        if conn is not None:
            conn.close()


def column_schema(conn, node: Mapping[str, Any]) -> dg.TableSchema:
    """The relation's columns with their DuckDB types (describe reads the catalog, not the data)
    and the descriptions the model's yml gives them: the asset page's column table."""
    documented = {name.lower(): column.get("description") or None for name, column in node.get("columns", {}).items()}
    rows = conn.execute(f"describe {node['relation_name']}").fetchall()
    return dg.TableSchema(columns=[
        dg.TableColumn(name=name, type=str(data_type), description=documented.get(name.lower()))
        for name, data_type, *_ in rows
    ])


def orphan_metadata(conn, relation: str) -> dict[str, Any]:
    """Orphan counts and rates per kind, for the asset's metadata (and its plots in the UI)."""
    rows = conn.execute(
        f"select orphan_kind, orphan_rows, child_rows, orphan_rate from {relation} order by orphan_kind"
    ).fetchall()
    return {
        "orphan_rows": sum(r[1] for r in rows),
        "max_orphan_rate": max((r[3] for r in rows), default=0.0),
        "orphans_by_kind": dg.MetadataValue.json({kind: {"orphans": o, "rows": n, "rate": rate} for kind, o, n, rate in rows}),
        **{f"orphans/{kind}": o for kind, o, _, _ in rows},
    }


def feature_model_key(name: str) -> dg.AssetKey:
    """Key of a dbt model in dbt/models/features (dagster-dbt keys models by schema and name)."""
    return dg.AssetKey(["features", name])
