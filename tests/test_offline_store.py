"""Training sets through dagster_project/feast_ext/offline_store.py.

Fast tier (no pipeline): small feature tables written with DuckDB in a temporary folder, a real
Feast FeatureStore applied over them, and every kind of entity input an ML engineer brings - a
pandas frame with nanosecond, naive, zoned, string or date times, an Arrow table, a Parquet file
and folder, a SQL query over the feature files or the warehouse - compared value for value and
dtype for dtype with an independent ASOF join written in the test; the errors for requests that
cannot work; null and unknown ids; each fallback to Feast's join against the ASOF result.

Pipeline tier: on the session pipeline's real feature tables, the ASOF path equals Feast's own
DuckDB point-in-time join, including the edges where point-in-time correctness lives: an entity
timestamp equal to a feature row's, one microsecond before the first row, exactly at the TTL
limit and one second past it, unknown entities, duplicate entity rows, several views and full
feature names."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dagster_project.feast_ext.offline_store as offline_store
from dagster_project.feast_ext.feature_tables import feature_table_path
from dagster_project.feast_ext.offline_store import TrainingSetError, training_set
from dagster_project.feast_ext.repo import apply_feature_repo, get_feature_store

from conftest import duck, make_settings


def _retrieve(store, entity_df, features, *, asof: bool, full_feature_names=False, monkeypatch=None):
    """get_historical_features through the ASOF path (asserting it was taken) or Feast's."""
    taken = []
    original = offline_store.asof_historical_features

    def spy(*args, **kwargs):
        job = original(*args, **kwargs) if asof else None
        taken.append(job is not None)
        return job

    monkeypatch.setattr(offline_store, "asof_historical_features", spy)
    frame = store.get_historical_features(entity_df=entity_df.copy(), features=features,
                                          full_feature_names=full_feature_names).to_df()
    monkeypatch.setattr(offline_store, "asof_historical_features", original)
    assert taken == [asof]
    return frame


def _same(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> None:
    assert list(a.columns) == list(b.columns)
    order = keys + [c for c in a.columns if c not in keys]
    a = a.sort_values(order, na_position="first").reset_index(drop=True)
    b = b.sort_values(order, na_position="first").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def _edge_rows(settings, view: str, key: str, ttl: timedelta) -> pd.DataFrame:
    """Entity rows at the point-in-time edges of one entity's feature rows."""
    path = feature_table_path(settings, view)
    entity, first, last = duck(
        f"select {key}, min(event_timestamp), max(event_timestamp) from read_parquet('{path}') "
        f"group by {key} order by count(*) desc, {key} limit 1"
    ).fetchall()[0]
    times = [first - timedelta(microseconds=1), first, first + timedelta(hours=1), last,
             last + ttl, last + ttl + timedelta(seconds=1)]
    rows = pd.DataFrame({key: [entity] * len(times) + ["__nobody__", entity],
                         "event_timestamp": times + [last, last]})  # unknown entity; a duplicate row
    rows["event_timestamp"] = pd.to_datetime(rows["event_timestamp"]).dt.tz_localize("UTC")
    return rows


def test_customer_training_set_equals_feasts_on_random_and_edge_rows(pipeline_settings, monkeypatch):
    store = get_feature_store(pipeline_settings)
    view = store.get_feature_view("customer_features")
    path = feature_table_path(pipeline_settings, "customer_features")
    ids = [r[0] for r in duck(f"select distinct customer_id from read_parquet('{path}') order by 1").fetchall()]
    rng = np.random.default_rng(7)
    n = 5000
    lo, hi = duck(f"select min(event_timestamp), max(event_timestamp) from read_parquet('{path}')").fetchall()[0]
    span = int((hi - lo).total_seconds()) + 40 * 86400
    entity_df = pd.DataFrame({
        "customer_id": [ids[i] for i in rng.integers(0, len(ids), n)],
        "event_timestamp": pd.Timestamp(lo, tz="UTC") - pd.Timedelta(days=20)
        + pd.to_timedelta(rng.integers(0, span, n), unit="s"),
        "label": rng.integers(0, 2, n),  # extra entity columns come back unchanged
    })
    edges = _edge_rows(pipeline_settings, "customer_features", "customer_id", view.ttl)
    edges["label"] = 1
    entity_df = pd.concat([entity_df, edges], ignore_index=True)
    features = [f"customer_features:{f.name}" for f in view.features]

    ours = _retrieve(store, entity_df, features, asof=True, monkeypatch=monkeypatch)
    feasts = _retrieve(store, entity_df, features, asof=False, monkeypatch=monkeypatch)
    _same(ours, feasts, ["customer_id", "event_timestamp", "label"])
    # the ASOF path keeps the entity rows in their input order
    assert ours["customer_id"].tolist() == entity_df["customer_id"].tolist()
    # the edges behave as point-in-time correctness requires
    tail = ours.iloc[-len(edges):].reset_index(drop=True)
    found = tail["orders_lifetime"].notna().tolist()
    assert found == [False, True, True, True, True, False, False, True]
    assert 0.2 < ours["orders_lifetime"].notna().mean() < 1


def test_several_views_full_feature_names_and_string_timestamps_equal_feasts(pipeline_settings, monkeypatch):
    store = get_feature_store(pipeline_settings)
    cust = feature_table_path(pipeline_settings, "customer_features")
    prod = feature_table_path(pipeline_settings, "product_features")
    pairs = duck(
        f"""
        select c.customer_id, p.product_id, c.event_timestamp + interval 3 hour as ts
        from (select * from read_parquet('{cust}') using sample 300 rows (reservoir, 1)) as c
        positional join (select * from read_parquet('{prod}') using sample 300 rows (reservoir, 2)) as p
        """
    ).df()
    entity_df = pd.DataFrame({
        "customer_id": pairs["customer_id"],
        "product_id": pairs["product_id"],
        # ISO strings, as a training-set query might hand them over: Feast parses them as UTC
        "event_timestamp": pairs["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
    })
    features = store.get_feature_service("personalization_v1") if _has_service(store, "personalization_v1") else [
        "customer_features:orders_lifetime", "customer_features:favourite_category",
        "product_features:price", "product_features:is_in_stock", "product_features:units_available",
    ]
    for full in (False, True):
        ours = _retrieve(store, entity_df, features, asof=True, full_feature_names=full, monkeypatch=monkeypatch)
        feasts = _retrieve(store, entity_df, features, asof=False, full_feature_names=full, monkeypatch=monkeypatch)
        _same(ours, feasts, ["customer_id", "product_id", "event_timestamp"])
        assert len(ours) == len(entity_df) and ours.iloc[:, 3:].notna().to_numpy().mean() > 0.5
    assert any("__" in c for c in ours.columns)


def _has_service(store, name: str) -> bool:
    return name in {s.name for s in store.list_feature_services()}


def test_requests_it_cannot_serve_the_same_way_go_to_feast(pipeline_settings):
    store = get_feature_store(pipeline_settings)
    view = store.get_feature_view("customer_features")
    refs = ["customer_features:orders_lifetime"]
    # an entity query given as SQL is the ASOF path's own (Feast's DuckDB join takes frames only)
    path = feature_table_path(pipeline_settings, "customer_features")
    job = offline_store.asof_historical_features(
        store.config, [view], refs, f"select customer_id, event_timestamp from read_parquet('{path}') limit 5", False)
    assert isinstance(job, offline_store.AsofRetrievalJob) and len(job.to_df()) == 5
    # a source with a field mapping is Feast's
    mapped = view.__copy__()
    mapped.batch_source = view.batch_source.__class__(
        name="mapped", path=view.batch_source.path, timestamp_field="event_timestamp",
        field_mapping={"orders_lifetime": "orders_lifetime"})
    assert offline_store.asof_historical_features(store.config, [mapped], refs, pd.DataFrame(
        {"customer_id": ["x"], "event_timestamp": [pd.Timestamp("2026-01-01", tz="UTC")]}), False) is None
    # a feature of a view it was not given (an on-demand view) is Feast's too
    assert offline_store.asof_historical_features(store.config, [view], ["other_view:f"], pd.DataFrame(
        {"customer_id": ["x"], "event_timestamp": [pd.Timestamp("2026-01-01", tz="UTC")]}), False) is None


@pytest.mark.parametrize("tz", [None, "UTC", "Europe/Berlin"])
def test_entity_timestamps_in_any_zone_are_compared_as_instants(pipeline_settings, monkeypatch, tz):
    store = get_feature_store(pipeline_settings)
    path = feature_table_path(pipeline_settings, "customer_features")
    rows = duck(f"select customer_id, event_timestamp from read_parquet('{path}') using sample 200 rows (reservoir, 3)").df()
    ts = pd.to_datetime(rows["event_timestamp"]) + pd.Timedelta(minutes=30)
    if tz is not None:
        ts = ts.dt.tz_localize("UTC").dt.tz_convert(tz)
    entity_df = pd.DataFrame({"customer_id": rows["customer_id"], "event_timestamp": ts})
    features = ["customer_features:orders_lifetime", "customer_features:revenue_lifetime"]
    ours = _retrieve(store, entity_df, features, asof=True, monkeypatch=monkeypatch)
    feasts = _retrieve(store, entity_df, features, asof=False, monkeypatch=monkeypatch)
    _same(ours, feasts, ["customer_id", "event_timestamp"])
    assert ours["orders_lifetime"].notna().all()


def test_an_asof_training_set_persists_as_parquet(pipeline_settings, tmp_path):
    from feast.errors import SavedDatasetLocationAlreadyExists
    from feast.infra.offline_stores.file_source import SavedDatasetFileStorage

    store = get_feature_store(pipeline_settings)
    path = feature_table_path(pipeline_settings, "customer_features")
    entity_df = duck(
        f"select customer_id, event_timestamp + interval 1 hour as event_timestamp from read_parquet('{path}') limit 50"
    ).df()
    entity_df["event_timestamp"] = pd.to_datetime(entity_df["event_timestamp"]).dt.tz_localize("UTC")
    job = store.get_historical_features(entity_df=entity_df, features=["customer_features:orders_lifetime"])
    assert isinstance(job, offline_store.AsofRetrievalJob)
    target = tmp_path / "training.parquet"
    job.persist(SavedDatasetFileStorage(path=str(target)))
    pd.testing.assert_frame_equal(pd.read_parquet(target), job.to_df())
    with pytest.raises(SavedDatasetLocationAlreadyExists):
        job.persist(SavedDatasetFileStorage(path=str(target)))
    job.persist(SavedDatasetFileStorage(path=str(target)), allow_overwrite=True)


# =============================================================== fast tier: small real data

CUSTOMERS = [f"cus_{i:03d}" for i in range(40)]  # the last two have no feature rows at all
PRODUCTS = [f"SKU-{i:03d}" for i in range(20)]
FIRST_DAY = pd.Timestamp("2026-01-02")            # event_timestamp of the first feature rows
DAYS = 90
SQL_TYPES = {"Int64": "bigint", "Float64": "double", "String": "varchar", "Bool": "boolean"}


def _feature_expr(name: str, dtype: str) -> str:
    h = f"hash(k, d, '{name}')"
    value = {"bigint": f"({h} % 1000)::bigint", "double": f"({h} % 100000) / 100.0",
             "varchar": f"'v' || ({h} % 5)::varchar", "boolean": f"{h} % 2 = 0"}[dtype]
    return f"case when hash(k, d, 'null {name}') % 10 = 0 then null else {value} end as {name}"


def _write_feature_table(store, view_name: str, key: str, ids: list[str], where: str) -> None:
    """One row per id and day (the gaps and late starts `where` leaves), stamped at midnight UTC
    after the day as the dbt models stamp theirs; feature values hashed from (id, day), ~10 % null."""
    view = store.get_feature_view(view_name)
    columns = ", ".join(_feature_expr(f.name, SQL_TYPES[str(f.dtype)]) for f in view.features)
    path = view.batch_source.path
    conn = duckdb.connect()
    conn.register("ids", pd.DataFrame({"k": ids, "i": range(len(ids))}))
    conn.execute(f"""
        copy (
            select k as {key}, timestamp '{FIRST_DAY}' + to_days(d::integer) as event_timestamp, {columns}
            from ids, range({DAYS}) as days(d)
            where {where}
            order by d, k
        ) to '{path}' (format parquet)
    """)
    conn.close()


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    """A real Feast repo applied over small feature tables, and a warehouse with a label table."""
    data_dir = tmp_path_factory.mktemp("training")
    settings = make_settings(data_dir, feast_project="rcl_training_sets")
    settings.features_dir.mkdir(parents=True, exist_ok=True)
    apply_feature_repo(settings)
    store = get_feature_store(settings)
    # customers: gaps every third day, two customers unknown to the view, one who starts late
    _write_feature_table(store, "customer_features", "customer_id", CUSTOMERS[:38], "(i + d) % 3 <> 0 and (i <> 5 or d > 60)")
    # products: some stop after day 20, so the 30-day TTL empties them later
    _write_feature_table(store, "product_features", "product_id", PRODUCTS, "(i % 4 <> 0 or d < 20) and (i + d) % 2 = 0")
    return settings, store


def _labels(n: int, seed: int) -> pd.DataFrame:
    """Label rows as an engineer has them: nanosecond UTC times spread from before the first
    feature row to past the last, unknown and null ids, label/weight/segment columns, duplicates."""
    rng = np.random.default_rng(seed)
    start = FIRST_DAY.tz_localize("UTC") - pd.Timedelta(days=5)
    ns = rng.integers(0, (DAYS + 40) * 86400 * 10**9, n)
    customers = np.asarray(CUSTOMERS + ["cus_999", None], dtype=object)
    products = np.asarray(PRODUCTS + ["SKU-999", None], dtype=object)
    frame = pd.DataFrame({
        "customer_id": customers[rng.integers(0, len(customers), n)],
        "product_id": products[rng.integers(0, len(products), n)],
        "event_timestamp": start + pd.to_timedelta(ns, unit="ns"),
        "label": rng.integers(0, 2, n).astype("int8"),
        "weight": rng.random(n).astype("float32"),
        "segment": rng.choice(["new", "returning", "vip"], n),
    })
    # edges: exactly at a feature row, one nanosecond before it, 999 ns after it
    edge = FIRST_DAY.tz_localize("UTC") + pd.Timedelta(days=10)
    edges = pd.DataFrame({"customer_id": ["cus_001"] * 3, "product_id": ["SKU-001"] * 3,
                          "event_timestamp": [edge, edge - pd.Timedelta(1, "ns"), edge + pd.Timedelta(999, "ns")],
                          "label": np.int8(1), "weight": np.float32(1), "segment": "edge"})
    return pd.concat([frame, edges, frame.iloc[:5]], ignore_index=True)  # duplicates at the end


def _expected_times(ts: pd.Series) -> pd.Series:
    """The normalisation the store promises, computed independently: UTC, floored to microseconds."""
    aware = ts.dt.tz is not None
    utc = ts.dt.tz_convert("UTC").dt.tz_localize(None) if aware else ts
    micros = utc.astype("datetime64[ns]").astype("int64") // 1000  # numpy floors toward the past
    out = pd.Series(micros.to_numpy().astype("datetime64[us]"), index=ts.index)
    return out.dt.tz_localize("UTC") if aware else out


def _reference(settings, store, frame: pd.DataFrame, refs: list[str], *, aware=None,
               full_feature_names=False) -> pd.DataFrame:
    """The independent ASOF join: one hand-written DuckDB ASOF LEFT JOIN per view over the
    feature files, TTL as Feast applies it, on times normalised by `_expected_times`."""
    ts = frame["event_timestamp"]
    if not pd.api.types.is_datetime64_any_dtype(ts.dtype):
        ts = pd.to_datetime(ts, utc=True, format="ISO8601")
    expected_ts = _expected_times(ts)
    if aware is True and expected_ts.dt.tz is None:
        expected_ts = expected_ts.dt.tz_localize("UTC")
    key_ts = expected_ts.dt.tz_localize(None) if expected_ts.dt.tz is not None else expected_ts
    entity = pd.DataFrame({k: frame[k] for k in ("customer_id", "product_id") if k in frame})
    entity["__t"], entity["__i"] = key_ts.to_numpy(), np.arange(len(frame))
    conn = duckdb.connect()
    conn.register("entity", entity)
    by_view: dict = {}
    for ref in refs:
        view, _, feature = ref.partition(":")
        by_view.setdefault(view, []).append(feature)
    selects, joins = [], []
    for n, (view_name, features) in enumerate(by_view.items()):
        view = store.get_feature_view(view_name)
        key = view.entity_columns[0].name
        ttl_days = view.ttl.days
        joins.append(f"asof left join read_parquet('{feature_table_path(settings, view_name)}') as f{n} "
                     f"on e.{key} = f{n}.{key} and e.__t >= f{n}.event_timestamp")
        for feature in features:
            name = f"{view_name}__{feature}" if full_feature_names else feature
            selects.append(f"case when f{n}.event_timestamp >= e.__t - interval {ttl_days} day "
                           f"then f{n}.{feature} end as {name}")
    features = conn.sql(f"select {', '.join(selects)} from entity e {' '.join(joins)} order by e.__i").to_arrow_table()
    conn.close()
    expected = frame.reset_index(drop=True).copy()
    expected["event_timestamp"] = expected_ts.reset_index(drop=True)
    return pd.concat([expected, features.to_pandas()], axis=1)


CUSTOMER_REFS = ["customer_features:orders_lifetime", "customer_features:revenue_lifetime",
                 "customer_features:favourite_category", "customer_features:return_rate"]
PRODUCT_REFS = ["product_features:price", "product_features:is_in_stock", "product_features:units_available"]
REFS = CUSTOMER_REFS + PRODUCT_REFS


def _entity_kinds(tmp_path, frame: pd.DataFrame) -> dict:
    """The same label rows in every form training_set takes, with what the reference expects of
    the label time (aware or as given)."""
    naive = frame.assign(event_timestamp=frame["event_timestamp"].dt.tz_localize(None))
    folder = tmp_path / "labels"
    folder.mkdir()
    half = len(frame) // 2
    frame.iloc[:half].to_parquet(folder / "part-0.parquet")
    frame.iloc[half:].to_parquet(folder / "part-1.parquet")
    frame.to_parquet(tmp_path / "labels.parquet")
    return {
        "frame_ns_utc": (frame, frame),
        "frame_ns_naive": (naive, naive),
        "frame_ns_berlin": (frame.assign(event_timestamp=frame["event_timestamp"].dt.tz_convert("Europe/Berlin")),
                            frame),
        "frame_iso_strings": (frame.assign(event_timestamp=frame["event_timestamp"].dt.tz_convert("America/New_York")
                                           .map(lambda t: t.isoformat())), frame),
        "frame_naive_strings": (naive.assign(event_timestamp=naive["event_timestamp"].map(lambda t: t.isoformat())),
                                frame),  # naive strings are UTC
        "arrow_table": (pa.Table.from_pandas(frame, preserve_index=False), frame),
        "parquet_file": (tmp_path / "labels.parquet", frame),
        "parquet_folder": (folder, frame),
    }


@pytest.mark.parametrize("kind", ["frame_ns_utc", "frame_ns_naive", "frame_ns_berlin", "frame_iso_strings",
                                  "frame_naive_strings", "arrow_table", "parquet_file", "parquet_folder"])
def test_every_entity_input_equals_the_independent_asof_join(small_store, tmp_path, kind):
    settings, store = small_store
    frame = _labels(3000, seed=11)
    source, as_given = _entity_kinds(tmp_path, frame)[kind]
    result = training_set(store, source, REFS)
    assert result.path_taken == "asof" and result.rows == len(frame)
    actual = result.to_df()
    expected = _reference(settings, store, as_given, REFS)
    pd.testing.assert_frame_equal(actual, expected)
    # and through the Parquet writer (DuckDB COPY, no pandas frame): the same table
    written = training_set(store, source, REFS, out_path=tmp_path / "out" / "training.parquet")
    assert written.table is None and written.rows == len(frame)
    pd.testing.assert_frame_equal(pq.read_table(written.path).to_pandas(), expected)


def test_nanoseconds_are_truncated_toward_the_past(small_store):
    settings, store = small_store
    at = FIRST_DAY.tz_localize("UTC") + pd.Timedelta(days=10)  # cus_001 has a row stamped here, and one 2 days before
    rows = pd.DataFrame({"customer_id": ["cus_001"] * 3,
                         "event_timestamp": [at, at - pd.Timedelta(1, "ns"), at + pd.Timedelta(999, "ns")]})
    table = training_set(store, rows, ["customer_features:orders_lifetime"]).table
    assert table.column("event_timestamp").to_pylist() == [at.to_pydatetime(), (at - pd.Timedelta(1, "us")).to_pydatetime(),
                                                           at.to_pydatetime()]
    path = feature_table_path(settings, "customer_features")
    at_row, before = duckdb.connect().execute(
        f"select (select orders_lifetime from read_parquet('{path}') where customer_id = 'cus_001' and "
        f"event_timestamp = '{at.tz_localize(None)}'), (select orders_lifetime from read_parquet('{path}') "
        f"where customer_id = 'cus_001' and event_timestamp < '{at.tz_localize(None)}' order by event_timestamp desc "
        "limit 1)").fetchone()
    # one nanosecond before the row's stamp must not see it (rounding would have)
    assert table.column("orders_lifetime").to_pylist() == [at_row, before, at_row]


def test_date_timestamps_are_midnight_utc(small_store):
    settings, store = small_store
    dates = [pd.Timestamp("2026-01-20").date(), pd.Timestamp("2026-02-11").date()]
    rows = pd.DataFrame({"customer_id": ["cus_002", "cus_003"], "event_timestamp": dates})
    actual = training_set(store, rows, CUSTOMER_REFS).to_df()
    midnight = rows.assign(event_timestamp=pd.to_datetime(dates).tz_localize("UTC"))
    pd.testing.assert_frame_equal(actual, _reference(settings, store, midnight, CUSTOMER_REFS))
    arrow = pa.table({"customer_id": ["cus_002", "cus_003"], "event_timestamp": pa.array(dates, pa.date32())})
    pd.testing.assert_frame_equal(training_set(store, arrow, CUSTOMER_REFS).to_df(), actual)


def test_sql_entity_queries_over_feature_files_and_the_warehouse(small_store, tmp_path):
    settings, store = small_store
    frame = _labels(500, seed=5)
    warehouse = tmp_path / "warehouse.duckdb"
    conn = duckdb.connect(str(warehouse))
    conn.execute("create schema marts")
    conn.register("frame", frame)
    conn.execute("create table marts.labels as select * from frame")
    conn.close()
    custom = make_settings(settings.data_dir, feast_project="rcl_training_sets", published_warehouse_path=warehouse)

    result = training_set(custom, "select * from marts.labels", REFS)
    pd.testing.assert_frame_equal(result.to_df(), _reference(settings, store, frame, REFS))

    # a query over the requested views' feature files, by view name; naive times stay naive
    query = ("select customer_id, event_timestamp + interval 90 minute as event_timestamp, 1::tinyint as label, "
             "orders_lifetime as source_orders "
             "from customer_features where customer_id < 'cus_010' order by event_timestamp desc, customer_id")
    path = feature_table_path(settings, "customer_features")
    given = duck(query.replace("from customer_features", f"from read_parquet('{path}')")).to_arrow_table().to_pandas()
    given["event_timestamp"] = given["event_timestamp"].astype("datetime64[us]")
    result = training_set(custom, query, CUSTOMER_REFS)
    pd.testing.assert_frame_equal(result.to_df(), _reference(settings, store, given, CUSTOMER_REFS))
    # 90 minutes after a feature row, a label sees exactly that row
    out = result.to_df()
    pd.testing.assert_series_equal(out["orders_lifetime"], out["source_orders"].astype("float64"), check_names=False)


def test_feasts_public_api_takes_nanosecond_frames_and_sql(small_store, tmp_path):
    settings, store = small_store
    frame = _labels(400, seed=3)
    job = store.get_historical_features(entity_df=frame, features=REFS, full_feature_names=True)
    assert isinstance(job, offline_store.AsofRetrievalJob)
    expected = _reference(settings, store, frame, REFS, full_feature_names=True)
    pd.testing.assert_frame_equal(job.to_df(), expected)
    frame.to_parquet(tmp_path / "labels.parquet")
    job = store.get_historical_features(entity_df=f"select * from read_parquet('{tmp_path / 'labels.parquet'}')",
                                        features=REFS, full_feature_names=True)
    assert isinstance(job, offline_store.AsofRetrievalJob)
    pd.testing.assert_frame_equal(job.to_df(), expected)
    # the job's summary: the frame's null and unknown ids, counted as the reference join sees them
    summary = job.summary()
    assert summary["rows"] == len(frame)
    assert summary["null_key_rows"] == {"customer_features": int(frame["customer_id"].isna().sum()),
                                        "product_features": int(frame["product_id"].isna().sum())}
    assert summary["unknown_key_rows"] == {"customer_features": int(frame["customer_id"].isin(["cus_038", "cus_039", "cus_999"]).sum()),
                                           "product_features": int((frame["product_id"] == "SKU-999").sum())}


def test_null_and_unknown_ids_get_null_features_and_are_counted(small_store, tmp_path):
    settings, store = small_store
    rows = pd.DataFrame({
        "customer_id": ["cus_001", None, "cus_999", "cus_039", "cus_001"],
        "product_id": ["SKU-001", "SKU-001", None, "SKU-999", "SKU-001"],
        "event_timestamp": pd.Timestamp("2026-03-01", tz="UTC"),
    })
    result = training_set(store, rows, REFS, out_path=tmp_path / "t.parquet")
    assert result.rows == 5
    assert result.null_key_rows == {"customer_features": 1, "product_features": 1}
    assert result.unknown_key_rows == {"customer_features": 2, "product_features": 1}
    out = pd.read_parquet(result.path)
    assert out["customer_id"].tolist() == rows["customer_id"].tolist()
    assert out.loc[[1, 2, 3], "orders_lifetime"].isna().all() and out.loc[[2, 3], "price"].isna().all()
    assert out.loc[[0, 4], "revenue_lifetime"].notna().all()


@pytest.mark.parametrize("case", ["no_timestamp", "two_timestamps", "missing_join_key", "unknown_feature",
                                  "unknown_view", "bad_string", "null_timestamp", "bad_query"])
def test_requests_that_cannot_work_fail_with_a_clear_error(small_store, case):
    settings, store = small_store
    rows = pd.DataFrame({"customer_id": ["cus_001", "cus_002"], "product_id": ["SKU-001", "SKU-002"],
                         "event_timestamp": pd.to_datetime(["2026-02-01", "2026-02-02"], utc=True)})
    refs, message = REFS, None
    if case == "no_timestamp":
        rows, message = rows.drop(columns="event_timestamp"), "no 'event_timestamp' column and no timestamp column"
    elif case == "two_timestamps":
        rows = rows.rename(columns={"event_timestamp": "label_time"}).assign(signup=rows["event_timestamp"])
        message = "2 timestamp columns (label_time, signup)"
    elif case == "missing_join_key":
        rows, message = rows.drop(columns="product_id"), "no column 'product_id', the join key of feature view 'product_features'"
    elif case == "unknown_feature":
        refs, message = ["customer_features:orders_forever"], "feature view 'customer_features' has no feature 'orders_forever'"
    elif case == "unknown_view":
        refs, message = ["customer_featurez:orders_lifetime"], "no feature view 'customer_featurez'"
    elif case == "bad_string":
        rows = rows.assign(event_timestamp=["2026-02-01T00:00:00Z", "last tuesday"])
        message = "entity row 1: 'event_timestamp' value 'last tuesday' is not a timestamp"
    elif case == "null_timestamp":
        rows.loc[1, "event_timestamp"] = pd.NaT
        message = "entity row 1: 'event_timestamp' is null"
    elif case == "bad_query":
        rows, message = "select * from marts.no_such_table", "the entity query failed"
    with pytest.raises(TrainingSetError) as err:
        training_set(store, rows, refs)
    assert message in str(err.value)
    if case in ("missing_join_key", "unknown_feature", "bad_string", "null_timestamp"):
        # the same error through Feast's public API (Feast checks feature names itself, first)
        expected = (TrainingSetError, KeyError) if case == "unknown_feature" else TrainingSetError
        with pytest.raises(expected, match="orders_forever" if case == "unknown_feature" else None) as err:
            store.get_historical_features(entity_df=rows, features=refs).to_df()
        assert case == "unknown_feature" or message in str(err.value)


def _fallback_view(store, tmp_path, kind: str):
    """customer_features over a copy of its table that only Feast's join can read: a renamed
    column with a field mapping back, or a created-timestamp column."""
    from feast import FileSource

    view = store.get_feature_view("customer_features")
    path = tmp_path / f"{kind}.parquet"
    if kind == "field_mapping":
        duck(f"copy (select * rename (orders_lifetime as orders_total) from read_parquet('{view.batch_source.path}')) "
                   f"to '{path}' (format parquet)")
        source = FileSource(name="mapped", path=str(path), timestamp_field="event_timestamp",
                            field_mapping={"orders_total": "orders_lifetime"})
    else:
        duck(f"copy (select *, event_timestamp as created_at from read_parquet('{view.batch_source.path}')) "
                   f"to '{path}' (format parquet)")
        source = FileSource(name="created", path=str(path), timestamp_field="event_timestamp",
                            created_timestamp_column="created_at")
    copy = view.__copy__()
    copy.batch_source = source
    return view, copy


@pytest.mark.parametrize("kind,reason", [("field_mapping", "has a field mapping"),
                                         ("created_timestamp", "has a created-timestamp column")])
def test_each_fallback_is_logged_and_equals_the_asof_path(small_store, tmp_path, caplog, kind, reason):
    settings, store = small_store
    view, fallback = _fallback_view(store, tmp_path, kind)
    rows = _labels(800, seed=21)[["customer_id", "event_timestamp", "label"]]
    refs = ["customer_features:orders_lifetime", "customer_features:revenue_lifetime", "customer_features:preferred_device"]
    asof = offline_store.asof_historical_features(store.config, [view], refs, rows, False).to_df()
    with caplog.at_level("WARNING", logger="dagster_project.feast_ext.offline_store"):
        job = offline_store.AsofDuckDBOfflineStore.get_historical_features(
            store.config, [fallback], refs, rows, store.registry, store.project)
    assert not isinstance(job, offline_store.AsofRetrievalJob)
    assert any("Feast's own point-in-time join" in r.message and reason in r.message for r in caplog.records)
    feasts = job.to_df()
    _same(_utc(feasts[asof.columns.tolist()]), asof, ["customer_id", "event_timestamp", "label"])
    # a SQL entity query in a fallback runs first, then goes to Feast's join
    rows.to_parquet(tmp_path / "rows.parquet")
    job = offline_store.AsofDuckDBOfflineStore.get_historical_features(
        store.config, [fallback], refs, f"select * from read_parquet('{tmp_path / 'rows.parquet'}')",
        store.registry, store.project)
    _same(_utc(job.to_df()[asof.columns.tolist()]), asof, ["customer_id", "event_timestamp", "label"])


def _utc(frame: pd.DataFrame) -> pd.DataFrame:
    """Feast's DuckDB join, called below FeatureStore, hands back the (UTC) label times naive."""
    ts = frame["event_timestamp"]
    return frame.assign(event_timestamp=ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts)


def test_an_existing_output_is_not_overwritten_unless_asked(small_store, tmp_path):
    settings, store = small_store
    rows = _labels(50, seed=2)
    target = tmp_path / "training.parquet"
    first = training_set(store, rows, REFS, out_path=target)
    with pytest.raises(TrainingSetError, match="exists"):
        training_set(store, rows, REFS, out_path=target)
    again = training_set(store, rows.iloc[:10], REFS, out_path=target, overwrite=True)
    assert first.rows == 50 + 8 and again.rows == 10 and pq.read_metadata(target).num_rows == 10


def test_a_source_only_feast_can_read_is_logged_with_its_reason(small_store, caplog):
    from feast import FileSource

    settings, store = small_store
    view = store.get_feature_view("customer_features").__copy__()
    view.batch_source = FileSource(name="remote", path="s3://bucket/customer_features.parquet",
                                   timestamp_field="event_timestamp")
    rows = _labels(10, seed=1)
    with caplog.at_level("WARNING", logger="dagster_project.feast_ext.offline_store"):
        assert offline_store.asof_historical_features(store.config, [view], CUSTOMER_REFS, rows, False) is None
    assert any("not a local .parquet file" in r.message for r in caplog.records)


def test_an_on_demand_view_goes_to_feasts_join_and_equals_the_asof_path(small_store, caplog):
    """Applies an on-demand view to the module's registry: keep it the last fast test."""
    from feast import Field
    from feast.on_demand_feature_view import on_demand_feature_view
    from feast.types import Float64

    settings, store = small_store
    base = store.get_feature_view("customer_features")

    @on_demand_feature_view(sources=[base], schema=[Field(name="revenue_per_order", dtype=Float64)], mode="pandas")
    def customer_ratios(inputs: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"revenue_per_order": inputs["revenue_lifetime"] / inputs["orders_lifetime"].clip(lower=1)})

    store.apply([customer_ratios])
    rows = _labels(600, seed=8)[["customer_id", "event_timestamp", "label"]]
    rows = rows[rows["customer_id"].notna()].reset_index(drop=True)
    base_refs = ["customer_features:orders_lifetime", "customer_features:revenue_lifetime"]
    with caplog.at_level("WARNING", logger="dagster_project.feast_ext.offline_store"):
        result = training_set(store, rows, base_refs + ["customer_ratios:revenue_per_order"])
    assert result.path_taken == "feast" and result.rows == len(rows)
    assert any("on-demand" in r.message for r in caplog.records)
    feasts = _utc(result.to_df())
    asof = training_set(store, rows, base_refs).to_df()
    asof["revenue_per_order"] = asof["revenue_lifetime"] / asof["orders_lifetime"].clip(lower=1)
    _same(feasts[asof.columns.tolist()], asof, ["customer_id", "event_timestamp", "label"])
    assert result.null_key_rows == {"customer_features": 0} and result.unknown_key_rows["customer_features"] > 0
