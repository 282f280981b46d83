"""Lineage of one feature, from the feature repo and the dbt manifest (`rcl lineage`): the feature
view serving it and the feature services using it, the dbt model exporting the view's table, the
whole upstream dbt DAG (depends_on), the dbt sources it reads, and the landing folders those
sources are loaded from (dagster_project/contracts.py). No pipeline run is needed: a missing
manifest is parsed first. How to read it: docs/privacy.md ("Lineage")."""

from __future__ import annotations

import difflib
from pathlib import PurePosixPath

from dagster_project.settings import Settings

# The order layers are listed in, from the feature table down to the sources.
LAYERS = ("features", "marts", "audit", "intermediate", "staging")


class UnknownFeature(LookupError):
    """No feature (or more than one) answers to the name; `matches` are the closest names."""

    def __init__(self, query: str, matches: list[str], ambiguous: bool = False):
        self.query, self.matches, self.ambiguous = query, matches, ambiguous
        what = "is in more than one view" if ambiguous else "is not a feature of the feature repo"
        hint = f"; {'say which' if ambiguous else 'close matches'}: {', '.join(matches)}" if matches else ""
        super().__init__(f"{query!r} {what}{hint}")


# ---------------------------------------------------------------- features and views

def feature_catalog(objects: list) -> dict[str, tuple[object, object]]:
    """`view:feature` -> (view, field) for every feature of every (on-demand) feature view."""
    from feast import FeatureView, OnDemandFeatureView

    catalog = {}
    for view in objects:
        if isinstance(view, (FeatureView, OnDemandFeatureView)):
            for field in view.features:
                catalog[f"{view.name}:{field.name}"] = (view, field)
    return dict(sorted(catalog.items()))


def resolve_feature(query: str, catalog: dict) -> str:
    """`view:feature`, or a feature name that only one view has -> its `view:feature` key."""
    if query in catalog:
        return query
    named = [key for key in catalog if key.split(":", 1)[1] == query]
    if len(named) == 1:
        return named[0]
    if named:
        raise UnknownFeature(query, named, ambiguous=True)
    names = sorted({key.split(":", 1)[1] for key in catalog})
    close = difflib.get_close_matches(query, list(catalog), n=5, cutoff=0.6)
    close += [key for name in difflib.get_close_matches(query.split(":")[-1], names, n=5, cutoff=0.6)
              for key in catalog if key.endswith(f":{name}") and key not in close]
    raise UnknownFeature(query, close[:8])


def _view_tables(view, views_by_name: dict) -> list[str]:
    """Parquet file names a view reads: its batch source's (behind a push source too), or for an
    on-demand view those of its source views."""
    from feast import FileSource, OnDemandFeatureView

    if isinstance(view, OnDemandFeatureView):
        return sorted({t for name in view.source_feature_view_projections
                       for t in _view_tables(views_by_name[name], views_by_name)})
    source = view.batch_source
    return [PurePosixPath(source.path).name] if isinstance(source, FileSource) else []


def _view_entry(view, views_by_name: dict) -> dict:
    from feast import OnDemandFeatureView

    stream = getattr(view, "stream_source", None)
    entry = {
        "name": view.name, "kind": type(view).__name__, "description": view.description,
        "entities": sorted(getattr(view, "entities", []) or []),
        "tables": _view_tables(view, views_by_name),
        "push_source": stream.name if stream is not None else None,
        "tags": dict(sorted(view.tags.items())),
    }
    if isinstance(view, OnDemandFeatureView):
        entry["source_views"] = sorted(view.source_feature_view_projections)
        entry["request_sources"] = sorted(view.source_request_sources)
    return entry


def _consumers(objects: list, view_name: str, feature: str) -> tuple[list[str], list[str]]:
    """(feature services whose projection of the view includes the feature, on-demand views
    computing from it)."""
    from feast import FeatureService, OnDemandFeatureView

    services, on_demand = set(), set()
    for obj in objects:
        if isinstance(obj, FeatureService):
            for projection in obj.feature_view_projections:
                if projection.name == view_name and feature in {f.name for f in projection.features}:
                    services.add(obj.name)
        elif isinstance(obj, OnDemandFeatureView):
            projection = obj.source_feature_view_projections.get(view_name)
            if projection is not None and feature in {f.name for f in projection.features}:
                on_demand.add(obj.name)
    return sorted(services), sorted(on_demand)


# ---------------------------------------------------------------- the dbt side

def _layer(node: dict) -> str:
    fqn = node.get("fqn") or []
    return fqn[1] if len(fqn) > 2 else node.get("resource_type", "")


def exporting_models(manifest: dict, tables: list[str]) -> list[str]:
    """Unique ids of the external dbt models writing these Parquet files."""
    from dagster_project.feast_ext.repo import _model_file_name

    return sorted(uid for uid, node in manifest["nodes"].items()
                  if node.get("resource_type") == "model"
                  and (node.get("config") or {}).get("materialized") == "external"
                  and _model_file_name(node) in tables)


def upstream_dag(manifest: dict, roots: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """({node id: its direct parents} for every node upstream of the roots, roots included;
    source ids reached), walking depends_on.nodes through every node."""
    nodes, sources = manifest["nodes"], manifest.get("sources", {})
    parents, reached, frontier = {}, set(), list(roots)
    while frontier:
        uid = frontier.pop()
        if uid in parents:
            continue
        parents[uid] = sorted(set((nodes.get(uid) or {}).get("depends_on", {}).get("nodes", [])))
        for parent in parents[uid]:
            if parent in sources:
                reached.add(parent)
            elif parent in nodes:
                frontier.append(parent)
    return parents, sorted(reached)


def _node_name(manifest: dict, uid: str) -> str:
    if uid in manifest.get("sources", {}):
        source = manifest["sources"][uid]
        return f"source {source['source_name']}.{source['name']}"
    return manifest["nodes"][uid]["name"]


def _model_entry(manifest: dict, uid: str, parents: list[str]) -> dict:
    node = manifest["nodes"][uid]
    return {"name": node["name"], "resource_type": node.get("resource_type"), "layer": _layer(node),
            "path": f"dbt/{node.get('original_file_path', '')}", "materialized": (node.get("config") or {}).get("materialized"),
            "depends_on": [_node_name(manifest, p) for p in parents if p in manifest["nodes"] or p in manifest.get("sources", {})]}


def _source_entry(manifest: dict, uid: str, settings: Settings) -> dict:
    """A dbt source with its raw table, its PII columns and where ingestion reads it from."""
    from dagster_project.classification import pii_classes
    from dagster_project.contracts import CONTRACTS
    from dagster_project.ingestion.discovery import DELIVERY_SUFFIXES, delivery_suffix, landing_folder

    source = manifest["sources"][uid]
    entry = {"name": f"{source['source_name']}.{source['name']}", "system": source["source_name"],
             "table": f"{source.get('schema')}.{source.get('identifier') or source['name']}",
             "pii_columns": {c: pii_classes(s.get("meta")) for c, s in (source.get("columns") or {}).items()
                             if pii_classes(s.get("meta"))},
             "landing_folder": None, "landing_files": [], "delivered_files": None}
    contract = next((c for c in CONTRACTS if (c.system, c.entity) == (source["source_name"], source["name"])), None)
    if contract is not None:
        folder = landing_folder(contract, settings.landing_dir)
        entry["landing_folder"] = str(folder)
        entry["landing_files"] = [f"{contract.system}/{contract.entity}/<YYYY-MM-DD>{suffix}"
                                  for suffix in DELIVERY_SUFFIXES[contract.format]]
        if folder.is_dir():
            entry["delivered_files"] = sum(1 for p in folder.iterdir() if p.is_file() and delivery_suffix(contract, p))
    return entry


# ---------------------------------------------------------------- the whole chain

def feature_lineage(settings: Settings, query: str, refresh_manifest: bool = False) -> dict:
    """The lineage of one feature as a JSON-ready dict (see the module docstring)."""
    from dagster_project.feast_ext.repo import dbt_manifest, feature_repo_objects

    if refresh_manifest:
        from dagster_project.defs.project import ensure_manifest

        ensure_manifest(settings, refresh=True)
    manifest = dbt_manifest(settings)
    objects = feature_repo_objects(settings)
    catalog = feature_catalog(objects)
    key = resolve_feature(query, catalog)
    view, field = catalog[key]
    views_by_name = {v.name: v for v, _ in catalog.values()}
    services, on_demand = _consumers(objects, view.name, field.name)
    view_entry = _view_entry(view, views_by_name)
    roots = exporting_models(manifest, view_entry["tables"])
    parents, source_ids = upstream_dag(manifest, roots)
    models = [_model_entry(manifest, uid, parents[uid]) for uid in parents]
    order = {layer: i for i, layer in enumerate(LAYERS)}
    models.sort(key=lambda m: (m["name"] not in {manifest["nodes"][r]["name"] for r in roots},
                               order.get(m["layer"], len(LAYERS)), m["name"]))
    return {
        "feature": key, "dtype": str(field.dtype), "description": field.description,
        "feature_view": view_entry, "feature_services": services, "on_demand_views": on_demand,
        "dbt_models": [m["name"] for m in models if m["name"] in {manifest["nodes"][r]["name"] for r in roots}],
        "upstream": models,
        "sources": [_source_entry(manifest, uid, settings) for uid in source_ids],
        "landing_dir": str(settings.landing_dir),
    }


def render(lineage: dict) -> str:
    """The lineage as text, one link of the chain per block."""
    view = lineage["feature_view"]
    lines = [f"{lineage['feature']}  ({lineage['dtype']})  {lineage['description'] or ''}".rstrip(),
             f"feature view      {view['name']} ({view['kind']}; entities: {', '.join(view['entities']) or '-'})"]
    if view.get("source_views"):
        lines.append(f"  computed from   {', '.join(view['source_views'])}"
                     + (f"; request: {', '.join(view['request_sources'])}" if view["request_sources"] else ""))
    lines.append(f"  reads           {', '.join(view['tables']) or '-'}"
                 + (f" (push source {view['push_source']})" if view["push_source"] else ""))
    lines.append(f"feature services  {', '.join(lineage['feature_services']) or '-'}")
    if lineage["on_demand_views"]:
        lines.append(f"on-demand views   {', '.join(lineage['on_demand_views'])}")
    lines.append(f"dbt model         {', '.join(lineage['dbt_models']) or '- (no dbt model exports this table)'}")
    lines.append(f"upstream dbt DAG  ({len(lineage['upstream'])} nodes; each <- its direct parents)")
    width = max((len(m["name"]) for m in lineage["upstream"]), default=0)
    for model in lineage["upstream"]:
        lines.append(f"  {model['layer']:<13} {model['name']:<{width}}  <- {', '.join(model['depends_on']) or '-'}")
    lines.append(f"dbt sources       ({len(lineage['sources'])}; landing folder {lineage['landing_dir']})")
    for source in lineage["sources"]:
        files = " | ".join(source["landing_files"]) or "(no landing contract)"
        count = "" if source["delivered_files"] is None else f"  [{source['delivered_files']} files]"
        pii = f"  PII: {', '.join(sorted(source['pii_columns']))}" if source["pii_columns"] else ""
        lines.append(f"  {source['name']:<22} {source['table']:<26} <- {files}{count}{pii}")
    return "\n".join(lines)
