"""The Feast feature store of a deployment: its RepoConfig built from Settings, opening it, and
applying the feature repo (feature_repo/) to its registry with `FeatureStore.apply`
(docs/adr/feast-config-in-code.md).

Applying also writes the resolved configuration to `<feast_dir>/feature_store.yaml`, so that the
`feast` CLI works on the same store from any shell: `feast -c <feast_dir> serve`.

Views and sources over a feature table get their lineage tags (`dbt_model`, `source_systems`,
`upstream_models`, `owner`) from the dbt manifest at apply time, so they are never typed twice.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path, PurePosixPath

from dagster_project.settings import Settings

log = logging.getLogger(__name__)

ONLINE_STORE_TYPES = {
    "sqlite": "dagster_project.feast_ext.online_stores.AtomicSqliteOnlineStore",
    "redis": "dagster_project.feast_ext.online_stores.AtomicRedisOnlineStore",
}
OFFLINE_STORE_TYPE = "dagster_project.feast_ext.offline_store.AsofDuckDBOfflineStore"


def repo_config_values(settings: Settings) -> dict:
    """The deployment's Feast configuration as feature_store.yaml keys: file registry and SQLite
    online store under `feast_dir`, or Redis (`redis_url`); the ASOF DuckDB offline store over the
    Parquet exports, bounded by the pipeline's DuckDB memory limit, with the published warehouse
    for entity queries."""
    if settings.online_store == "redis":
        # one Redis (or Sentinel): a publish is one MULTI/EXEC, which cannot span a cluster's slots
        online_store = {"type": ONLINE_STORE_TYPES["redis"], "redis_type": "redis",
                        "connection_string": settings.feast_redis_connection}
    else:
        online_store = {"type": ONLINE_STORE_TYPES["sqlite"], "path": str(settings.feast_dir / "online_store.db")}
    return {
        "project": settings.feast_project,
        "provider": "local",
        "registry": {"registry_type": "file", "path": str(settings.feast_dir / "registry.db"), "cache_ttl_seconds": 60},
        "online_store": online_store,
        "offline_store": {"type": OFFLINE_STORE_TYPE, "memory_limit": settings.duckdb_memory_limit,
                          "warehouse_path": str(settings.published_warehouse)},
        "entity_key_serialization_version": 3,
    }


def repo_config(settings: Settings):
    """The deployment's RepoConfig (its repo path: the Feast folder)."""
    from feast import RepoConfig

    return RepoConfig(**repo_config_values(settings), repo_path=settings.feast_dir)


def get_feature_store(settings: Settings):
    """The deployment's FeatureStore (for readers: SDK, training sets, publishing)."""
    from feast import FeatureStore

    return FeatureStore(config=repo_config(settings))


def feature_repo_modules() -> list:
    """Every module of the `feature_repo` package (entities, sources, views, services, and one
    module per consumer), imported in name order."""
    import importlib
    import pkgutil

    import feature_repo

    return [importlib.import_module(f"feature_repo.{info.name}")
            for info in sorted(pkgutil.iter_modules(feature_repo.__path__), key=lambda i: i.name)]


def feature_repo_objects(settings: Settings) -> list:
    """Every Feast object the feature repo defines, with the Parquet paths of its FileSources
    (relative to the features folder) made absolute under `settings.features_dir`.

    The registry stores absolute paths because Feast's DuckDB offline store reads a relative path
    against the working directory, not the repo path; the repo's own objects are left untouched
    (copies: views keep pointing at their own copied sources)."""
    from feast import Entity, FeatureService, FeatureView, FileSource, OnDemandFeatureView
    from feast.data_source import DataSource, PushSource

    kinds = (Entity, DataSource, FeatureView, OnDemandFeatureView, FeatureService)
    seen: dict[int, object] = {}
    for module in feature_repo_modules():
        for value in vars(module).values():
            if isinstance(value, kinds):
                seen.setdefault(id(value), value)
    objects = copy.deepcopy(list(seen.values()))
    sources = [o for o in objects if isinstance(o, FileSource)]
    sources += [o.batch_source for o in objects if isinstance(o, (FeatureView, PushSource)) and o.batch_source is not None]
    resolved: set[int] = set()
    for source in sources:
        if isinstance(source, FileSource) and id(source) not in resolved:
            resolved.add(id(source))
            source.file_options.uri = FileSource.get_uri_for_file_path(settings.features_dir, source.path)
    _tag_with_dbt_lineage(objects, dbt_manifest(settings))
    return objects


# ------------------------------------------------------------------ lineage tags from dbt

LINEAGE_TAGS = ("dbt_model", "source_systems", "upstream_models", "owner")


def dbt_manifest(settings: Settings) -> dict:
    """The dbt project's manifest (parsed first when a fresh checkout has none)."""
    from dagster_project.defs.project import dbt_project, ensure_manifest

    if not Path(dbt_project.manifest_path).exists():  # never a re-parse mid-run (dagster dev would)
        ensure_manifest(settings)
    return json.loads(Path(dbt_project.manifest_path).read_text())


def _model_file_name(node: dict) -> str:
    """The file an external (Parquet) model writes: its `location`, else `<model>.parquet`."""
    location = (node.get("config") or {}).get("location")
    return PurePosixPath(location).name if location else f"{node['name']}.parquet"


def _upstream(manifest: dict, unique_id: str) -> tuple[set[str], set[str]]:
    """(model names, source system names) upstream of a node, through every depends_on."""
    nodes, sources = manifest["nodes"], manifest.get("sources", {})
    models, systems, seen, frontier = set(), set(), set(), [unique_id]
    while frontier:
        for parent in (nodes.get(frontier.pop()) or {}).get("depends_on", {}).get("nodes", []):
            if parent in sources:
                systems.add(sources[parent]["source_name"])
            elif parent not in seen and parent in nodes:
                seen.add(parent)
                if nodes[parent].get("resource_type") == "model":
                    models.add(nodes[parent]["name"])
                frontier.append(parent)
    return models, systems


def feature_table_lineage(manifest: dict) -> dict[str, dict[str, str]]:
    """Parquet file name -> lineage tags of the dbt model exporting it (external models only)."""
    lineage = {}
    for unique_id, node in manifest["nodes"].items():
        if node.get("resource_type") != "model" or (node.get("config") or {}).get("materialized") != "external":
            continue
        models, systems = _upstream(manifest, unique_id)
        owner = ((node.get("config") or {}).get("meta") or node.get("meta") or {}).get("owner")
        tags = {"dbt_model": node["name"], "source_systems": ",".join(sorted(systems)),
                "upstream_models": ",".join(sorted(models))}
        lineage[_model_file_name(node)] = {**tags, **({"owner": str(owner)} if owner else {})}
    return lineage


def _tag_with_dbt_lineage(objects: list, manifest: dict) -> None:
    """Views (and file sources) reading a feature table take its model's lineage tags; the
    manifest wins over a tag typed in the repo, with a warning naming both values. On-demand
    views take the union of their source views' dbt_model, source_systems and upstream_models."""
    from feast import FeatureView, FileSource, OnDemandFeatureView

    lineage = feature_table_lineage(manifest)
    derived_by_view: dict[str, dict[str, str]] = {}
    for obj in objects:
        source = obj.batch_source if isinstance(obj, FeatureView) else obj
        if not isinstance(source, FileSource) or PurePosixPath(source.path).name not in lineage:
            continue
        derived = lineage[PurePosixPath(source.path).name]
        if isinstance(obj, FeatureView):
            derived_by_view[obj.name] = derived
        _set_derived_tags(obj, derived)
    for obj in objects:
        if isinstance(obj, OnDemandFeatureView):
            parents = [derived_by_view[n] for n in obj.source_feature_view_projections if n in derived_by_view]
            if parents:
                _set_derived_tags(obj, {key: ",".join(sorted({v for p in parents for v in p[key].split(",") if v}))
                                        for key in ("dbt_model", "source_systems", "upstream_models")})


def _set_derived_tags(obj, derived: dict[str, str]) -> None:
    for key, value in derived.items():
        typed = obj.tags.get(key)
        if typed is not None and typed != value:
            log.warning("%s %s: tag %s=%r typed in the feature repo differs from the dbt manifest's %r; "
                        "using the manifest's", type(obj).__name__, obj.name, key, typed, value)
    obj.tags = {**obj.tags, **derived}


def _registered_objects(store) -> list:
    """The objects of the project in the registry, of the kinds the feature repo defines."""
    registry, project = store.registry, store.project
    return [
        *registry.list_entities(project),
        *registry.list_data_sources(project),
        *registry.list_feature_views(project),
        *registry.list_stream_feature_views(project),
        *registry.list_on_demand_feature_views(project),
        *registry.list_feature_services(project),
    ]


def apply_feature_repo(settings: Settings) -> str:
    """Apply the feature repo to the deployment's registry, as `feast apply` does: objects the
    repo defines are created or updated, objects it no longer defines are deleted (and their
    online tables torn down). Writes the resolved feature_store.yaml for the `feast` CLI.
    Returns a report of the changes."""
    settings.feast_dir.mkdir(parents=True, exist_ok=True)
    _forget_registry_of_another_location(settings)
    store = get_feature_store(settings)
    objects = feature_repo_objects(settings)
    defined = {(type(o).__name__, o.name) for o in objects}
    gone = [o for o in _registered_objects(store)
            if (type(o).__name__, o.name) not in defined and not o.name.startswith("__")]  # Feast's dummy entity
    store.apply(objects, objects_to_delete=gone, partial=False)
    write_feature_store_yaml(settings)
    report = [f"applied {type(o).__name__} {o.name}" for o in objects]
    report += [f"deleted {type(o).__name__} {o.name}" for o in gone]
    return "\n".join(report) + "\n"


def write_feature_store_yaml(settings: Settings) -> Path:
    """`<feast_dir>/feature_store.yaml`: the resolved configuration (no ${VARS}) for the `feast`
    CLI, e.g. `feast -c <feast_dir> serve`."""
    import yaml

    path = settings.feast_dir / "feature_store.yaml"
    header = "# Written by dagster_project/feast_ext/repo.py when the feature repo is applied; do not edit.\n"
    path.write_text(header + yaml.safe_dump(repo_config_values(settings), sort_keys=False))
    return path


def _forget_registry_of_another_location(settings: Settings) -> None:
    """A registry records where its online tables live. Applied from a copied or moved Feast
    folder, Feast would tear down the tables at the recorded (original) location as obsolete
    infrastructure: another environment's online store. The folder remembers its own location;
    in a copy the registry is started afresh (the online rows copied along are kept: tables are
    created only if missing)."""
    marker = settings.feast_dir / ".location"
    registry = settings.feast_dir / "registry.db"
    here = str(settings.feast_dir.resolve())
    if registry.exists() and marker.exists() and marker.read_text().strip() != here:
        log.warning("Feast registry in %s was copied from %s: starting a fresh registry", here, marker.read_text().strip())
        registry.unlink()
    elif registry.exists() and not marker.exists():
        log.warning("Feast registry in %s has no recorded location: starting a fresh registry", here)
        registry.unlink()
    marker.write_text(here + "\n")
