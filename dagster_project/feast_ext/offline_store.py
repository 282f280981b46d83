"""Training sets: Feast's DuckDB offline store with point-in-time joins as DuckDB `ASOF` joins,
and `training_set`, the project's entry point that takes whatever label rows an ML engineer has.

The ASOF join runs when its semantics equal Feast's (local Parquet FileSources, no field mapping,
no created-timestamp column, no on-demand view); anything else goes to Feast's own join, logged
with the reason. Its configuration keys are Feast's DuckDB store's plus `memory_limit` and
`warehouse_path` (set by dagster_project/feast_ext/repo.py). Design and the exact semantics of
label times, rows and fallbacks: docs/adr/asof-offline-store.md.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import List, Literal, Optional, Union

import numpy as np
import pandas as pd
import pyarrow as pa
from feast import FileSource
from feast.feature_view import FeatureView
from feast.infra.offline_stores.duckdb import DuckDBOfflineStore, DuckDBOfflineStoreConfig
from feast.infra.offline_stores.offline_store import RetrievalJob, RetrievalMetadata
from feast.infra.registry.base_registry import BaseRegistry
from feast.repo_config import RepoConfig

log = logging.getLogger(__name__)

_ROW = "__rcl_entity_row"
_TS = "__rcl_entity_ts"
_ENTITY = "__rcl_entity"
DEFAULT_TIMESTAMP = "event_timestamp"


class TrainingSetError(ValueError):
    """A training-set request that cannot work as given; the message names the column, feature
    or row to fix."""


class AsofDuckDBOfflineStoreConfig(DuckDBOfflineStoreConfig):
    """Feast's DuckDB offline store configuration (same keys), for AsofDuckDBOfflineStore."""

    type: Literal["dagster_project.feast_ext.offline_store.AsofDuckDBOfflineStore"] = (
        "dagster_project.feast_ext.offline_store.AsofDuckDBOfflineStore"
    )
    # memory per DuckDB connection of a training set (DuckDB spills beyond it); None: DuckDB's default
    memory_limit: Optional[str] = None
    # the published warehouse, attached read-only as the default catalog of entity queries
    warehouse_path: Optional[str] = None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


# ------------------------------------------------------------------------------------ the plan

@dataclass
class _ViewPlan:
    """One feature view's part of the join: where its rows are and which features to take."""

    prefix: str            # the name refs use (projection name or alias)
    base: str              # the prefix of full feature names
    path: Path
    key_map: dict          # feature-table column -> entity column
    timestamp_field: str
    ttl: Optional[timedelta]
    features: list = field(default_factory=list)


def _parquet_path(config: RepoConfig, view: FeatureView) -> tuple[Optional[Path], str]:
    """The view's local Parquet file, or None and why the ASOF path cannot read it."""
    source = view.batch_source
    if not isinstance(source, FileSource):
        return None, f"view {view.name!r} reads a {type(source).__name__}, not a local Parquet FileSource"
    if source.field_mapping:
        return None, f"view {view.name!r} has a field mapping"
    if source.created_timestamp_column:
        return None, f"view {view.name!r} has a created-timestamp column (ties need it; ASOF cannot use it)"
    path = str(source.path)
    if "://" in path or not path.endswith(".parquet"):
        return None, f"view {view.name!r} reads {path!r}, not a local .parquet file"
    # a relative path resolved against the repo path, as Feast's FileSource resolves it
    return Path(FileSource.get_uri_for_file_path(config.repo_path, path)), ""


def plan_views(config: RepoConfig, feature_views: List[FeatureView],
               feature_refs: List[str]) -> tuple[Optional[list[_ViewPlan]], str]:
    """The ASOF plan (views in Feast's column order), or None and the reason for Feast's join.
    A feature a view does not have is an error, not a fallback."""
    if not feature_views:
        return None, "no feature view was given"
    views = {}
    for view in feature_views:
        path, reason = _parquet_path(config, view)
        if path is None:
            return None, reason
        views[view.projection.name_to_use()] = (view, path)
    requested: dict = {}
    for ref in feature_refs:
        prefix, _, feature = ref.partition(":")
        if prefix not in views:
            return None, f"feature {ref!r} is not of a batch feature view (an on-demand view)"
        view = views[prefix][0]
        names = [f.name for f in view.features]
        if feature not in names:
            raise TrainingSetError(f"feature view {view.name!r} has no feature {feature!r} (reference {ref!r}); "
                                   f"its features: {', '.join(names)}")
        requested.setdefault(prefix, []).append(feature)
    plans = []
    for prefix in views:  # Feast's order: the views as given, each view's features as requested
        if prefix not in requested:
            continue
        view, path = views[prefix]
        key_map = view.projection.join_key_map or {e.name: e.name for e in view.entity_columns}
        ttl = view.ttl if view.ttl and view.ttl > timedelta(0) else None
        plans.append(_ViewPlan(prefix, view.projection.name_alias or view.name, path, dict(key_map),
                               view.batch_source.timestamp_field, ttl, requested[prefix]))
    return plans, ""


def _join_sql(plans: list[_ViewPlan], full_feature_names: bool, entity_columns: Optional[list[str]]) -> str:
    """The one query: entity rows (their own columns when `entity_columns` is given, else only
    the features) ASOF-joined to each view, in input order."""
    select = [f"e.{_q(c)}" for c in entity_columns] if entity_columns is not None else []
    joins = []
    for n, plan in enumerate(plans):
        alias = f"f{n}"
        inner = ", ".join([*(_q(k) for k in plan.key_map), f"cast({_q(plan.timestamp_field)} as timestamp) as __ts",
                           *(_q(f) for f in plan.features)])
        on = " and ".join([*(f"e.{_q(entity_col)} = {alias}.{_q(k)}" for k, entity_col in plan.key_map.items()),
                           f"e.{_TS} >= {alias}.__ts"])
        joins.append(f"asof left join (select {inner} from read_parquet({_lit(plan.path)})) as {alias} on {on}")
        for feature in plan.features:
            out = f"{plan.base}__{feature}" if full_feature_names else feature
            value = f"{alias}.{_q(feature)}"
            if plan.ttl is not None:
                micros = int(plan.ttl.total_seconds() * 1_000_000)
                value = f"case when {alias}.__ts + to_microseconds({micros}) >= e.{_TS} then {value} end"
            select.append(f"{value} as {_q(out)}")
    return f"select {', '.join(select)} from {_ENTITY} as e {' '.join(joins)} order by e.{_ROW}"


# ----------------------------------------------------------------------------- entity sources

def _connect(memory_limit: Optional[str], spill_dir: str, warehouse: Optional[Path] = None):
    import duckdb

    config = {"temp_directory": spill_dir}
    if memory_limit:
        config["memory_limit"] = memory_limit
    conn = duckdb.connect(config=config)
    conn.execute("set TimeZone = 'UTC'")
    if warehouse is not None and Path(warehouse).exists():
        conn.execute(f"attach {_lit(Path(warehouse))} as warehouse (read_only)")
        conn.execute("use warehouse")
    return conn


def _timestamp_column(columns: list[str], is_timestamp) -> str:
    if DEFAULT_TIMESTAMP in columns:
        return DEFAULT_TIMESTAMP
    candidates = [c for c in columns if is_timestamp(c)]
    if len(candidates) == 1:
        return candidates[0]
    raise TrainingSetError(
        f"the entity rows have no {DEFAULT_TIMESTAMP!r} column"
        + (f" and {len(candidates)} timestamp columns ({', '.join(candidates)})" if candidates else
           " and no timestamp column")
        + f": name the label time {DEFAULT_TIMESTAMP!r} (columns: {', '.join(columns)})")


def _check_columns(columns: list[str], plans: list[_ViewPlan], ts_col: str) -> None:
    for internal in (_ROW, _TS):
        if internal in columns:
            raise TrainingSetError(f"the entity rows have a column named {internal!r}, which the join uses itself")
    for plan in plans:
        for key, entity_col in plan.key_map.items():
            if entity_col not in columns:
                raise TrainingSetError(
                    f"the entity rows have no column {entity_col!r}, the join key of feature view {plan.base!r} "
                    f"(columns: {', '.join(columns)})")
    if ts_col in {c for p in plans for c in p.key_map.values()}:
        raise TrainingSetError(f"column {ts_col!r} cannot be both the label time and a join key")


def _raise_bad_timestamps(ts_col: str, values: pd.Series, parsed: pd.Series) -> None:
    bad = parsed.isna() & values.notna()
    if bad.any():
        first = int(bad.to_numpy().nonzero()[0][0])
        raise TrainingSetError(f"entity row {first}: {ts_col!r} value {values.iloc[first]!r} is not a timestamp "
                               f"({int(bad.sum())} such rows)")
    missing = parsed.isna()
    if missing.any():
        first = int(missing.to_numpy().nonzero()[0][0])
        raise TrainingSetError(f"entity row {first}: {ts_col!r} is null ({int(missing.sum())} such rows); "
                               "a label without a time cannot be joined point-in-time")


def _floor_micros(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Timestamps of any unit to microseconds, truncated toward the past; aware ones in UTC."""
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_date(kind):
        return column.cast(pa.timestamp("us", tz="UTC"))
    tz = "UTC" if kind.tz else None
    if kind.unit == "ns":
        column = pc.floor_temporal(column, unit="microsecond")
    return column.cast(pa.timestamp(kind.unit if kind.unit != "ns" else "us", tz=kind.tz)).cast(
        pa.timestamp("us", tz=tz))


def _frame_to_arrow(frame: pd.DataFrame, ts_col: str) -> pa.Table:
    frame = frame.copy(deep=False)
    ts = frame[ts_col]
    if not pd.api.types.is_datetime64_any_dtype(ts.dtype):
        ts = ts.infer_objects()
    if pd.api.types.is_string_dtype(ts.dtype) or pd.api.types.is_object_dtype(ts.dtype):
        # what Feast does with strings (and date objects): parse, naive as UTC
        parsed = pd.to_datetime(ts, utc=True, errors="coerce", format="ISO8601")
        _raise_bad_timestamps(ts_col, ts, parsed)
        frame[ts_col] = parsed
    elif pd.api.types.is_datetime64_any_dtype(ts.dtype):
        _raise_bad_timestamps(ts_col, ts, ts)
    return pa.Table.from_pandas(frame, preserve_index=False)


def _normalize_arrow(table: pa.Table, plans: Optional[list[_ViewPlan]]) -> tuple[pa.Table, str]:
    """The entity table with its label time normalised (microseconds, UTC), checked against the
    plan's join keys when one is given."""
    columns = table.column_names

    def is_ts(name):
        kind = table.schema.field(name).type
        return pa.types.is_timestamp(kind) or pa.types.is_date(kind)

    ts_col = _timestamp_column(columns, is_ts)
    if plans is not None:
        _check_columns(columns, plans, ts_col)
    i = columns.index(ts_col)
    column = table.column(i)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        values = column.to_pandas()
        parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
        _raise_bad_timestamps(ts_col, values, parsed)
        column = pa.chunked_array([pa.Array.from_pandas(parsed)])
    elif not is_ts(ts_col):
        raise TrainingSetError(f"entity column {ts_col!r} is {column.type}, not a timestamp, date or ISO 8601 string")
    elif column.null_count:
        _raise_bad_timestamps(ts_col, column.to_pandas(), column.to_pandas())
    column = _floor_micros(column)
    return _set_pandas_dtype(table.set_column(i, ts_col, column), ts_col, column.type), ts_col


def _arrow_entity(table: pa.Table, plans: list[_ViewPlan]) -> tuple[pa.Table, str]:
    """The normalised entity table with a row number and the naive-UTC comparison key."""
    table, ts_col = _normalize_arrow(table, plans)
    table = table.append_column(_ROW, pa.array(np.arange(table.num_rows, dtype=np.int64)))
    table = table.append_column(_TS, table.column(ts_col).cast(pa.timestamp("us")))  # same instants, naive UTC
    return table, ts_col


def normalized_entity_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its label time as the ASOF path reads it (microseconds, UTC): what Feast's
    own join gets in a fallback, which fails on nanoseconds itself."""
    ts_col = _timestamp_column(list(frame.columns), lambda c: pd.api.types.is_datetime64_any_dtype(frame[c].dtype))
    table, _ = _normalize_arrow(_frame_to_arrow(frame, ts_col), None)
    return table.to_pandas()


def _set_pandas_dtype(table: pa.Table, name: str, kind: pa.DataType) -> pa.Table:
    """A table from pandas remembers each column's pandas dtype and restores it in to_pandas:
    the label time's entry must say what it is now (microseconds, UTC), the others stay."""
    import json

    metadata = dict(table.schema.metadata or {})
    if b"pandas" not in metadata:
        return table
    pandas_meta = json.loads(metadata[b"pandas"])
    for column in pandas_meta.get("columns", []):
        if column.get("name") == name:
            column["pandas_type"] = "datetimetz" if kind.tz else "datetime"
            column["numpy_type"] = "datetime64[us, UTC]" if kind.tz else "datetime64[us]"
            column["metadata"] = {"timezone": "UTC"} if kind.tz else None
    metadata[b"pandas"] = json.dumps(pandas_meta).encode()
    return table.replace_schema_metadata(metadata)


def _sql_entity(conn, query: str, plans: list[_ViewPlan]) -> tuple[list[str], str]:
    """Runs the entity query once into a temporary table (its output order kept) with the label
    time normalised; returns the entity's own columns and the label-time column."""
    for plan in plans:
        conn.execute(f"create or replace temp view {_q(plan.base)} as select * from read_parquet({_lit(plan.path)})")
    try:
        conn.execute(f"create temp table __rcl_entity_input as {query}")
    except Exception as exc:
        raise TrainingSetError(f"the entity query failed: {exc.__class__.__name__}: {exc}") from None
    described = conn.execute("select column_name, column_type from (describe __rcl_entity_input)").fetchall()
    types = dict(described)
    columns = [c for c, _ in described]
    ts_col = _timestamp_column(columns, lambda c: types[c].startswith("TIMESTAMP") or types[c] == "DATE")
    _check_columns(columns, plans, ts_col)
    kind = types[ts_col]
    c = _q(ts_col)
    if kind.startswith("TIMESTAMP"):
        nanos = f"epoch_ns({c})"
    elif kind == "DATE":
        nanos = f"epoch_ns(cast({c} as timestamp))"
    elif kind == "VARCHAR":
        bad = conn.execute(f"select rowid, {c} from __rcl_entity_input where {c} is not null and "
                           f"try_cast({c} as timestamptz_ns) is null order by rowid limit 1").fetchall()
        if bad:
            raise TrainingSetError(f"entity row {bad[0][0]}: {ts_col!r} value {bad[0][1]!r} is not an ISO 8601 timestamp")
        nanos = f"epoch_ns(cast({c} as timestamptz_ns))"
    else:
        raise TrainingSetError(f"entity column {ts_col!r} is {kind}, not a timestamp, date or ISO 8601 string")
    null = conn.execute(f"select rowid from __rcl_entity_input where {c} is null order by rowid limit 1").fetchall()
    if null:
        raise TrainingSetError(f"entity row {null[0][0]}: {ts_col!r} is null; a label without a time cannot be "
                               "joined point-in-time")
    # integer division truncates toward zero: step back one microsecond for negative remainders
    micros = f"(({nanos}) // 1000 - case when ({nanos}) % 1000 < 0 then 1 else 0 end)"
    aware = not (kind.startswith("TIMESTAMP") and "TIME ZONE" not in kind and "TZ" not in kind)
    out = f"make_timestamp({micros})" + ("::timestamptz" if aware else "")
    # a view, not a second copy of the rows: the join and the summary read the table through it
    conn.execute(f"create temp view {_ENTITY} as select * replace ({out} as {c}), rowid as {_ROW}, "
                 f"make_timestamp({micros}) as {_TS} from __rcl_entity_input")
    return columns, ts_col


def parquet_entity_query(path: Union[str, Path]) -> str:
    """The entity query of a Parquet file or folder (every .parquet below it, files in name
    order). No sort: DuckDB keeps the files' row order while `preserve_insertion_order` is on
    (its default, which these connections keep)."""
    path = Path(path)
    if not path.exists():
        raise TrainingSetError(f"entity Parquet {path} does not exist")
    files = sorted(str(p) for p in path.rglob("*.parquet")) if path.is_dir() else [str(path)]
    if not files:
        raise TrainingSetError(f"entity folder {path} holds no .parquet file")
    return f"select * from read_parquet([{', '.join(_lit(f) for f in files)}], union_by_name = true)"


# ---------------------------------------------------------------------------------- the job

class AsofRetrievalJob(RetrievalJob):
    """A training set computed by one DuckDB query when first asked for (to_df / to_arrow), or
    written straight to Parquet (`to_parquet`, `persist`) without passing through Python."""

    def __init__(self, plans: list[_ViewPlan], entity: Union[pa.Table, str], full_feature_names: bool,
                 metadata: Optional[RetrievalMetadata], memory_limit: Optional[str] = None,
                 warehouse: Optional[Path] = None):
        super().__init__()
        self._plans, self._entity = plans, entity
        self._full_feature_names = full_feature_names
        self._metadata = metadata
        self._memory_limit = memory_limit
        self._warehouse = warehouse
        self._result: Optional[pa.Table] = None

    def _session(self):
        """A connection with the entity rows loaded as `__rcl_entity`; the caller closes both."""
        spill = tempfile.mkdtemp(prefix="rcl-training-")
        conn = _connect(self._memory_limit, spill, self._warehouse)
        if isinstance(self._entity, pa.Table):
            conn.register(_ENTITY, self._entity)
            columns = [c for c in self._entity.column_names if c not in (_ROW, _TS)]
        else:
            columns, _ = _sql_entity(conn, self._entity, self._plans)
        return conn, spill, columns

    def _to_arrow_internal(self, timeout: Optional[int] = None) -> pa.Table:
        if self._result is None:
            self._result, _ = self._run(summarize=False)
        return self._result

    def table_and_summary(self) -> tuple[pa.Table, dict]:
        """The training set and its summary from one load of the entity rows."""
        self._result, summary = self._run(summarize=True)
        return self._result, summary

    def _run(self, summarize: bool) -> tuple[pa.Table, Optional[dict]]:
        conn, spill, columns = self._session()
        try:
            if isinstance(self._entity, pa.Table):
                features = conn.sql(_join_sql(self._plans, self._full_feature_names, None)).to_arrow_table()
                # the entity columns exactly as given (same order: the query sorts by row number)
                result = self._entity.drop_columns([_ROW, _TS])
                for name, column in zip(features.column_names, features.columns):
                    result = result.append_column(name, column)
            else:
                result = conn.sql(_join_sql(self._plans, self._full_feature_names, columns)).to_arrow_table()
            return result, (self._summary(conn) if summarize else None)
        finally:
            conn.close()
            shutil.rmtree(spill, ignore_errors=True)

    def _to_df_internal(self, timeout: Optional[int] = None) -> pd.DataFrame:
        return self._to_arrow_internal(timeout).to_pandas()

    def to_parquet(self, path: Union[str, Path], *, overwrite: bool = False) -> dict:
        """Writes the training set to one Parquet file through DuckDB (COPY ... TO: bounded memory,
        no pandas frame) and returns the summary (`summary`) with the path."""
        path = Path(path)
        if path.exists() and not overwrite:
            raise TrainingSetError(f"{path} exists; pass overwrite=True to replace it")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        conn, spill, columns = self._session()
        try:
            conn.execute(f"copy ({_join_sql(self._plans, self._full_feature_names, columns)}) "
                         f"to {_lit(tmp)} (format parquet)")
            summary = self._summary(conn)
        finally:
            conn.close()
            shutil.rmtree(spill, ignore_errors=True)
        os.replace(tmp, path)
        return {**summary, "path": str(path)}

    def summary(self) -> dict:
        """Rows, and per feature view the entity rows whose join key is null and those whose key
        the view's feature table does not hold at all (both get null features)."""
        conn, spill, _ = self._session()
        try:
            return self._summary(conn)
        finally:
            conn.close()
            shutil.rmtree(spill, ignore_errors=True)

    def _summary(self, conn) -> dict:
        (rows,) = conn.execute(f"select count(*) from {_ENTITY}").fetchone()
        null_keys, unknown_keys = {}, {}
        for n, plan in enumerate(self._plans):
            entity_keys = [_q(c) for c in plan.key_map.values()]
            any_null = " or ".join(f"e.{k} is null" for k in entity_keys)
            on = " and ".join(f"e.{_q(e)} = f.{_q(k)}" for k, e in plan.key_map.items())
            keys = ", ".join(_q(k) for k in plan.key_map)
            null_keys[plan.prefix], unknown_keys[plan.prefix] = conn.execute(
                f"select count(*) filter (where {any_null}), count(*) filter (where not ({any_null}) and f.__hit is null) "
                f"from {_ENTITY} as e left join (select distinct {keys}, true as __hit "
                f"from read_parquet({_lit(plan.path)})) as f on {on}").fetchone()
        return {"rows": int(rows), "null_key_rows": null_keys, "unknown_key_rows": unknown_keys}

    @property
    def full_feature_names(self) -> bool:
        return self._full_feature_names

    @property
    def on_demand_feature_views(self):
        return []

    @property
    def metadata(self) -> Optional[RetrievalMetadata]:
        return self._metadata

    def persist(self, storage, allow_overwrite: bool = False, timeout: Optional[int] = None):
        from feast.infra.offline_stores.file_source import SavedDatasetFileStorage

        if not isinstance(storage, SavedDatasetFileStorage):
            raise NotImplementedError("AsofRetrievalJob persists to a SavedDatasetFileStorage (Parquet) only")
        path = Path(storage.file_options.uri)
        if path.exists() and not allow_overwrite:
            from feast.errors import SavedDatasetLocationAlreadyExists

            raise SavedDatasetLocationAlreadyExists(location=str(path))
        if self._result is not None:
            import pyarrow.parquet as pq

            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(self._result, path)
        else:
            self.to_parquet(path, overwrite=True)


class AsofDuckDBOfflineStore(DuckDBOfflineStore):
    """DuckDBOfflineStore whose get_historical_features uses ASOF joins (module docstring)."""

    @staticmethod
    def get_historical_features(
        config: RepoConfig,
        feature_views: List[FeatureView],
        feature_refs: List[str],
        entity_df: Union[pd.DataFrame, str],
        registry: BaseRegistry,
        project: str,
        full_feature_names: bool = False,
        filter_by_created_timestamp: bool = False,
    ) -> RetrievalJob:
        job = asof_historical_features(config, feature_views, feature_refs, entity_df, full_feature_names)
        if job is not None:
            return job
        if isinstance(entity_df, str):  # Feast's DuckDB join takes frames only
            entity_df = entity_frame_from_query(entity_df, feature_views, config)
        entity_df = normalized_entity_frame(entity_df)
        return DuckDBOfflineStore.get_historical_features(
            config=config, feature_views=feature_views, feature_refs=feature_refs, entity_df=entity_df,
            registry=registry, project=project, full_feature_names=full_feature_names,
            filter_by_created_timestamp=filter_by_created_timestamp,
        )


def asof_historical_features(config: RepoConfig, feature_views: List[FeatureView], feature_refs: List[str],
                             entity_df, full_feature_names: bool, *,
                             warehouse: Optional[Path] = None) -> Optional[AsofRetrievalJob]:
    """The ASOF retrieval job, or None (the reason logged) when the request needs Feast's join.
    entity_df: a pandas DataFrame, an Arrow table, or a SQL query."""
    if not isinstance(entity_df, (pd.DataFrame, pa.Table, str)):
        raise TrainingSetError(f"entity rows must be a pandas DataFrame, an Arrow table or a SQL query, "
                               f"not {type(entity_df).__name__}")
    plans, reason = plan_views(config, feature_views, feature_refs)
    if plans is None:
        log.warning("training set through Feast's own point-in-time join, not ASOF: %s", reason)
        return None
    memory_limit = _memory_limit(config)
    warehouse = warehouse or _warehouse(config)
    if isinstance(entity_df, str):
        return AsofRetrievalJob(plans, entity_df, full_feature_names, None, memory_limit=memory_limit,
                                warehouse=warehouse)
    if isinstance(entity_df, pd.DataFrame):
        ts_col = _timestamp_column(list(entity_df.columns),
                                   lambda c: pd.api.types.is_datetime64_any_dtype(entity_df[c].dtype))
        table = _frame_to_arrow(entity_df, ts_col)
    else:
        table = entity_df
    table, ts_col = _arrow_entity(table, plans)
    import pyarrow.compute as pc

    bounds = pc.min_max(table.column(ts_col))
    metadata = RetrievalMetadata(
        features=feature_refs,
        keys=[c for c in table.column_names if c not in (ts_col, _ROW, _TS)],
        min_event_timestamp=bounds["min"].as_py(),
        max_event_timestamp=bounds["max"].as_py(),
    )
    return AsofRetrievalJob(plans, table, full_feature_names, metadata, memory_limit=memory_limit)


def entity_frame_from_query(query: str, feature_views: List[FeatureView], config: RepoConfig,
                            warehouse: Optional[Path] = None) -> pd.DataFrame:
    """Runs an entity query (same catalog as the ASOF path: the warehouse, the views' files) into a
    pandas frame, for Feast's own join."""
    spill = tempfile.mkdtemp(prefix="rcl-training-")
    conn = _connect(_memory_limit(config), spill, warehouse or _warehouse(config))
    try:
        for view in feature_views:
            path, _ = _parquet_path(config, view)
            if path is not None:
                conn.execute(f"create or replace temp view {_q(view.name)} as select * from read_parquet({_lit(path)})")
        try:
            return conn.execute(query).df()
        except Exception as exc:
            raise TrainingSetError(f"the entity query failed: {exc.__class__.__name__}: {exc}") from None
    finally:
        conn.close()
        shutil.rmtree(spill, ignore_errors=True)


def _memory_limit(config: RepoConfig) -> Optional[str]:
    return getattr(config.offline_store, "memory_limit", None) or None


def _warehouse(config: RepoConfig) -> Optional[Path]:
    value = getattr(config.offline_store, "warehouse_path", None)
    return Path(value) if value else None


# ------------------------------------------------------------------------ the project's entry

@dataclass
class TrainingSet:
    """What `training_set` returns: the summary, and the table when nothing was written."""

    rows: int
    null_key_rows: dict
    unknown_key_rows: dict
    path: Optional[str] = None
    seconds: float = 0.0
    path_taken: str = "asof"            # or "feast" (a fallback, logged with its reason)
    table: Optional[pa.Table] = None

    def to_df(self) -> pd.DataFrame:
        if self.table is None:
            import pyarrow.parquet as pq

            return pq.read_table(self.path).to_pandas()
        return self.table.to_pandas()


def _resolve_features(store, features) -> tuple[list[FeatureView], list[str], bool]:
    """Feature views and refs of a FeatureService, a service name or a list of 'view:feature'
    refs; the bool says whether an on-demand view is among them."""
    from feast import FeatureService

    if isinstance(features, str):
        try:
            features = store.get_feature_service(features)
        except Exception:
            raise TrainingSetError(f"no feature service {features!r}; services: "
                                   f"{', '.join(s.name for s in store.list_feature_services())}") from None
    views: dict = {}
    refs: list[str] = []
    on_demand = False
    known = {v.name: v for v in store.list_feature_views()}
    odfvs = {v.name for v in store.list_on_demand_feature_views()}
    if isinstance(features, FeatureService):
        for projection in features.feature_view_projections:
            if projection.name in odfvs:
                on_demand = True
                continue
            view = known[projection.name].with_projection(projection)
            views[projection.name_to_use()] = view
            refs += [f"{projection.name_to_use()}:{f.name}" for f in projection.features]
        return list(views.values()), refs, on_demand
    for ref in features:
        name, sep, feature = str(ref).partition(":")
        if not sep or not feature:
            raise TrainingSetError(f"feature reference {ref!r} is not 'view:feature'")
        if name in odfvs:
            on_demand = True
            continue
        if name not in known:
            raise TrainingSetError(f"feature reference {ref!r}: no feature view {name!r}; views: "
                                   f"{', '.join(sorted(known))}")
        views.setdefault(name, known[name])
        refs.append(f"{name}:{feature}")
    return list(views.values()), refs, on_demand


def training_set(store_or_settings, entity_source, features, out_path: Union[str, Path, None] = None, *,
                 full_feature_names: bool = False, overwrite: bool = False) -> TrainingSet:
    """A point-in-time-correct training set for `entity_source`: a pandas DataFrame, an Arrow
    table, a Parquet file or folder (a Path, or a str ending in .parquet / naming a folder), or a
    SQL query (any other str). `features`: a FeatureService, its name, or 'view:feature' refs.

    With `out_path` the result goes straight to that Parquet file through DuckDB (no pandas
    frame; memory bounded by RCL_DUCKDB_MEMORY_LIMIT, DuckDB spills beyond it); without, it is
    returned as an Arrow table in `.table`. Either way the summary counts the rows and, per
    feature view, the rows with a null join key and those with a key the view does not know."""
    from feast import FeatureStore

    from dagster_project.settings import Settings

    started = time.monotonic()
    warehouse = None
    if isinstance(store_or_settings, Settings):
        from dagster_project.feast_ext.repo import get_feature_store

        warehouse = store_or_settings.published_warehouse
        store = get_feature_store(store_or_settings)
    elif isinstance(store_or_settings, FeatureStore):
        store = store_or_settings
    else:
        raise TypeError("training_set takes a feast FeatureStore or the project's Settings")
    entity = _entity_input(entity_source)
    views, refs, on_demand = _resolve_features(store, features)
    job = None
    if not on_demand:
        job = asof_historical_features(store.config, views, refs, entity, full_feature_names, warehouse=warehouse)
    else:
        log.warning("training set through Feast's own point-in-time join, not ASOF: an on-demand view is requested")
    if job is not None:
        if out_path is not None:
            summary = job.to_parquet(out_path, overwrite=overwrite)
            return TrainingSet(summary["rows"], summary["null_key_rows"], summary["unknown_key_rows"],
                               path=summary["path"], seconds=round(time.monotonic() - started, 3))
        table, summary = job.table_and_summary()
        return TrainingSet(summary["rows"], summary["null_key_rows"], summary["unknown_key_rows"],
                           seconds=round(time.monotonic() - started, 3), table=table)
    # Feast's join: a frame in, a frame out
    if isinstance(entity, str):
        entity = entity_frame_from_query(entity, views, store.config, warehouse)
    elif isinstance(entity, pa.Table):
        entity = entity.to_pandas()
    entity = normalized_entity_frame(entity)
    if isinstance(features, str):
        features = store.get_feature_service(features)
    table = store.get_historical_features(entity_df=entity, features=features,
                                          full_feature_names=full_feature_names).to_arrow()
    counts = _null_and_unknown_counts(store.config, views, entity)
    if out_path is not None:
        import pyarrow.parquet as pq

        path = Path(out_path)
        if path.exists() and not overwrite:
            raise TrainingSetError(f"{path} exists; pass overwrite=True to replace it")
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
        return TrainingSet(table.num_rows, *counts, path=str(path), seconds=round(time.monotonic() - started, 3),
                           path_taken="feast")
    return TrainingSet(table.num_rows, *counts, seconds=round(time.monotonic() - started, 3), path_taken="feast",
                       table=table)


def _null_and_unknown_counts(config, views, frame: pd.DataFrame) -> tuple[dict, dict]:
    null_keys, unknown_keys = {}, {}
    for view in views:
        name = view.projection.name_to_use()
        keys = list(view.projection.join_key_map or {e.name: e.name for e in view.entity_columns})
        entity_cols = [(view.projection.join_key_map or {}).get(k, k) for k in keys]
        missing = frame[entity_cols].isna().any(axis=1)
        null_keys[name] = int(missing.sum())
        path, _ = _parquet_path(config, view)
        if path is None:
            unknown_keys[name] = None  # not countable without reading the source
            continue
        known = pd.read_parquet(path, columns=keys).drop_duplicates()
        known.columns = entity_cols
        hit = frame.loc[~missing, entity_cols].merge(known.assign(__hit=True), how="left", on=entity_cols)["__hit"]
        unknown_keys[name] = int(hit.isna().sum())
    return null_keys, unknown_keys


def _entity_input(source) -> Union[pd.DataFrame, pa.Table, str]:
    if isinstance(source, (pd.DataFrame, pa.Table)):
        return source
    if isinstance(source, Path) or (isinstance(source, str) and (
            source.endswith((".parquet", "/")) or Path(source).is_dir())):
        return parquet_entity_query(source)
    if isinstance(source, str):
        return source
    raise TrainingSetError(f"entity rows must be a pandas DataFrame, an Arrow table, a Parquet path or a SQL query, "
                           f"not {type(source).__name__}")
