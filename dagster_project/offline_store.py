"""Feast's DuckDB offline store with point-in-time joins as DuckDB `ASOF` joins.

Feast's DuckDB store builds training sets through ibis: every entity row is joined to every
earlier feature row of its entity, then a window keeps the latest (`point_in_time_join`), which
for 200k entity rows is ~2.5 times the work of one `ASOF LEFT JOIN`. This store answers
`get_historical_features` with one DuckDB query per call: for each feature view an ASOF join
on the join keys and `feature.event_timestamp <= entity.event_timestamp`, the view's TTL applied
as Feast applies it (`feature_ts + ttl >= entity_ts`, else the features are null), entity rows in
their input order with their own columns.

It takes that path when the semantics are the same: the entity dataframe is a pandas DataFrame,
every view reads a local Parquet FileSource without a field mapping and without a created
timestamp column (ASOF cannot break ties on it), and no on-demand feature view is requested.
Anything else goes to Feast's implementation unchanged. tests/test_offline_store.py compares the
two on the pipeline's real feature tables (TTL edges, rows before any feature, unknown entities,
duplicate entity rows, full feature names, several views).

Select it in feature_store.yaml with `offline_store: type: dagster_project.offline_store.AsofDuckDBOfflineStore`;
its configuration keys are those of Feast's DuckDB store.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import List, Literal, Optional, Union

import pandas as pd
import pyarrow as pa
from feast import FileSource
from feast.feature_view import FeatureView
from feast.infra.offline_stores.duckdb import DuckDBOfflineStore, DuckDBOfflineStoreConfig
from feast.infra.offline_stores.offline_store import RetrievalJob, RetrievalMetadata
from feast.infra.offline_stores.offline_utils import infer_event_timestamp_from_entity_df
from feast.infra.registry.base_registry import BaseRegistry
from feast.repo_config import RepoConfig

_ROW = "__rcl_entity_row"
_TS = "__rcl_entity_ts"


class AsofDuckDBOfflineStoreConfig(DuckDBOfflineStoreConfig):
    """Feast's DuckDB offline store configuration (same keys), for AsofDuckDBOfflineStore."""

    type: Literal["dagster_project.offline_store.AsofDuckDBOfflineStore"] = (
        "dagster_project.offline_store.AsofDuckDBOfflineStore"
    )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _parquet_path(config: RepoConfig, view: FeatureView) -> Optional[Path]:
    source = view.batch_source
    if not isinstance(source, FileSource) or source.field_mapping or source.created_timestamp_column:
        return None
    path = str(source.path)
    if "://" in path or not path.endswith(".parquet"):
        return None
    resolved = Path(path)
    return resolved if resolved.is_absolute() else Path(config.repo_path or ".") / resolved


class AsofRetrievalJob(RetrievalJob):
    """A training set computed by one DuckDB query when first asked for (to_df / to_arrow)."""

    def __init__(self, sql: str, entity: pa.Table, full_feature_names: bool, metadata: RetrievalMetadata,
                 memory_limit: Optional[str] = None):
        super().__init__()
        self._sql, self._entity = sql, entity
        self._full_feature_names = full_feature_names
        self._metadata = metadata
        self._memory_limit = memory_limit
        self._result: Optional[pa.Table] = None

    def _to_arrow_internal(self, timeout: Optional[int] = None) -> pa.Table:
        if self._result is None:
            import duckdb

            conn = duckdb.connect(config={"memory_limit": self._memory_limit} if self._memory_limit else {})
            try:
                conn.register("__rcl_entity", self._entity)
                features = conn.sql(self._sql).to_arrow_table()
            finally:
                conn.close()
            # the entity rows as given (same order: the query sorts by row number), then the features
            result = self._entity.drop_columns([_ROW, _TS])
            for name, column in zip(features.column_names, features.columns):
                result = result.append_column(name, column)
            self._result = result
        return self._result

    def _to_df_internal(self, timeout: Optional[int] = None) -> pd.DataFrame:
        return self._to_arrow_internal(timeout).to_pandas()

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
        import pyarrow.parquet as pq

        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(self._to_arrow_internal(timeout), path)


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
        return DuckDBOfflineStore.get_historical_features(
            config=config, feature_views=feature_views, feature_refs=feature_refs, entity_df=entity_df,
            registry=registry, project=project, full_feature_names=full_feature_names,
            filter_by_created_timestamp=filter_by_created_timestamp,
        )


def asof_historical_features(config: RepoConfig, feature_views: List[FeatureView], feature_refs: List[str],
                             entity_df, full_feature_names: bool) -> Optional[AsofRetrievalJob]:
    """The ASOF retrieval job, or None when the request needs Feast's general implementation."""
    if not isinstance(entity_df, pd.DataFrame) or not feature_views:
        return None
    views = {}
    for view in feature_views:
        path = _parquet_path(config, view)
        if path is None:
            return None
        views[view.projection.name_to_use()] = (view, path)
    requested: dict = {}
    for ref in feature_refs:
        prefix, _, feature = ref.partition(":")
        if prefix not in views:  # an on-demand view (or a view we were not given)
            return None
        requested.setdefault(prefix, []).append(feature)
    if any(c in (_ROW, _TS) for c in entity_df.columns):
        return None

    ts_col = infer_event_timestamp_from_entity_df(dict(zip(entity_df.columns, entity_df.dtypes)))
    entity_df = entity_df.copy()
    ts = entity_df[ts_col].infer_objects()
    if pd.api.types.is_string_dtype(ts) or pd.api.types.is_object_dtype(ts):
        ts = pd.to_datetime(ts, utc=True)  # what Feast's _to_utc does
        entity_df[ts_col] = ts
    # the comparison key: naive UTC (feature tables hold naive UTC; naive entity times are UTC)
    naive = ts.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(ts.dt, "tz", None) is not None else ts
    entity = pa.Table.from_pandas(entity_df, preserve_index=False)
    # Feast's result carries the entity timestamps as microseconds, aware ones in UTC
    i = entity.column_names.index(ts_col)
    if pa.types.is_timestamp(entity.schema.field(i).type):
        tz = "UTC" if entity.schema.field(i).type.tz else None
        entity = entity.set_column(i, ts_col, entity.column(i).cast(pa.timestamp("us", tz=tz)))
    entity = entity.append_column(_ROW, pa.array(range(len(entity_df)), pa.int64()))
    entity = entity.append_column(_TS, pa.array(naive.astype("datetime64[us]"), pa.timestamp("us")))

    select = []  # the features only: the entity columns are taken as they are (AsofRetrievalJob)
    joins = []
    # columns in Feast's order: the views as given, each view's features in the order requested
    order = [p for p in views if p in requested]
    for n, prefix in enumerate(order):
        features = requested[prefix]
        view, path = views[prefix]
        alias = f"f{n}"
        base = view.projection.name_alias or view.name
        key_map = view.projection.join_key_map or {e.name: e.name for e in view.entity_columns}
        source_ts = view.batch_source.timestamp_field
        inner = ", ".join([*(f"{_q(k)}" for k in key_map), f"cast({_q(source_ts)} as timestamp) as __ts",
                           *(_q(f) for f in features)])
        on = " and ".join([*(f"e.{_q(entity_col)} = {alias}.{_q(k)}" for k, entity_col in key_map.items()),
                           f"e.{_TS} >= {alias}.__ts"])
        joins.append(f"asof left join (select {inner} from read_parquet('{str(path).replace(chr(39), chr(39) * 2)}')) "
                     f"as {alias} on {on}")
        ttl = view.ttl if view.ttl and view.ttl > timedelta(0) else None
        for feature in features:
            out = f"{base}__{feature}" if full_feature_names else feature
            value = f"{alias}.{_q(feature)}"
            if ttl is not None:
                micros = int(ttl.total_seconds() * 1_000_000)
                value = f"case when {alias}.__ts + to_microseconds({micros}) >= e.{_TS} then {value} end"
            select.append(f"{value} as {_q(out)}")
    sql = f"select {', '.join(select)} from __rcl_entity as e {' '.join(joins)} order by e.{_ROW}"
    metadata = RetrievalMetadata(
        features=feature_refs,
        keys=list(set(entity_df.columns) - {ts_col}),
        min_event_timestamp=ts.min(),
        max_event_timestamp=ts.max(),
    )
    return AsofRetrievalJob(sql, entity, full_feature_names, metadata,
                            memory_limit=_memory_limit())


def _memory_limit() -> Optional[str]:
    return os.environ.get("RCL_DUCKDB_MEMORY_LIMIT") or None
