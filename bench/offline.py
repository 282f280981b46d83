"""Feast offline and materialization figures.

historical_vs_asof_ratio: Feast get_historical_features(...).to_df() for an entity dataframe of
N rows (customer_id drawn from the feature table, event_timestamp uniform over its range) and
all 16 customer_features, vs one DuckDB ASOF LEFT JOIN over the same Parquet producing the same
columns (the view's TTL applied: a value older than 365 days is null, as in Feast). Both end
in a pandas DataFrame; row counts and non-null counts are checked equal.

training_set_peak_rss_gib (optional group `training`, 10M label rows by default):
`dagster_project.feast_ext.offline_store.training_set` in a child process, label rows from a Parquet file
(customer_id, product_id, event_timestamp with nanoseconds, label, weight) against every feature
of every view (customer, product, cart), written straight to Parquet; peak RSS of the child's
process tree and its time, next to a hand-written DuckDB ASOF join (same memory limit) writing
the same feature columns with COPY.

materialize_vs_raw_redis_ratio: rows/s of materialize_view(customer_features) into Redis (rows =
latest row per customer, what lands online) vs rows/s of writing the very same hashes (read back
from what Feast wrote: same keys' field names and value bytes, under other keys) with redis-py
pipelines of 1,000 HSETs, transaction=False.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

from bench.common import log, median

CUSTOMER_FEATURES = (
    "orders_lifetime", "revenue_lifetime", "avg_order_value", "orders_90d", "revenue_90d",
    "units_returned_lifetime", "return_rate", "product_views_30d", "add_to_carts_30d", "searches_30d",
    "support_tickets_90d", "email_opens_90d", "email_clicks_90d", "days_since_first_seen",
    "favourite_category", "preferred_device",
)
CUSTOMER_TTL_DAYS = 365


def entity_dataframe(parquet_path, rows: int, seed: int = 42):
    import duckdb
    import numpy as np
    import pandas as pd

    conn = duckdb.connect()
    ids = [r[0] for r in conn.execute(
        f"select distinct customer_id from read_parquet('{parquet_path}') order by 1").fetchall()]
    lo, hi = conn.execute(f"select min(event_timestamp), max(event_timestamp) from read_parquet('{parquet_path}')").fetchone()
    conn.close()
    rng = np.random.default_rng(seed)
    lo_s, hi_s = pd.Timestamp(lo).value // 10**9, pd.Timestamp(hi).value // 10**9
    seconds = rng.integers(lo_s, hi_s + 1, size=rows)
    return pd.DataFrame({
        "customer_id": np.asarray(ids, dtype=object)[rng.integers(0, len(ids), size=rows)],
        "event_timestamp": pd.to_datetime(seconds, unit="s", utc=True),
    })


def asof_join(entity_df, parquet_path):
    import duckdb

    conn = duckdb.connect()
    try:
        conn.execute("set TimeZone = 'UTC'")
        conn.register("entity_df", entity_df)
        features = ",\n".join(
            f"case when f.event_timestamp >= e.ts - interval {CUSTOMER_TTL_DAYS} days then f.{name} end as {name}"
            for name in CUSTOMER_FEATURES
        )
        return conn.execute(
            f"""
            with e as (select customer_id, event_timestamp, cast(event_timestamp as timestamp) as ts from entity_df)
            select e.customer_id, e.event_timestamp,
                   {features}
            from e asof left join read_parquet('{parquet_path}') as f
              on e.customer_id = f.customer_id and e.ts >= f.event_timestamp
            """
        ).df()
    finally:
        conn.close()


def feast_historical(store, entity_df):
    refs = [f"customer_features:{name}" for name in CUSTOMER_FEATURES]
    return store.get_historical_features(entity_df=entity_df, features=refs).to_df()


def measure_historical(settings, rows: int, runs: int) -> dict:
    from dagster_project.feast_ext.feature_tables import feature_table_path
    from dagster_project.feast_ext.repo import get_feature_store

    path = feature_table_path(settings, "customer_features")
    entity_df = entity_dataframe(path, rows)
    store = get_feature_store(settings)
    feast_times, asof_times, checks = [], [], []
    # one untimed warm-up each (imports, registry load, DuckDB extension load)
    feast_historical(store, entity_df.head(1000))
    asof_join(entity_df.head(1000), path)
    for i in range(runs):
        t = time.perf_counter()
        fdf = feast_historical(store, entity_df)
        feast_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        adf = asof_join(entity_df, path)
        asof_times.append(time.perf_counter() - t)
        checks.append({
            "feast_rows": len(fdf), "asof_rows": len(adf),
            "feast_non_null_orders_lifetime": int(fdf["orders_lifetime"].notna().sum()),
            "asof_non_null_orders_lifetime": int(adf["orders_lifetime"].notna().sum()),
        })
        log(f"historical run {i + 1}: feast {feast_times[-1]:.2f}s, asof {asof_times[-1]:.2f}s, {checks[-1]}")
    same = all(c["feast_rows"] == c["asof_rows"] == rows and
               c["feast_non_null_orders_lifetime"] == c["asof_non_null_orders_lifetime"] for c in checks)
    # reference, not the figure: the same request through Feast's stock DuckDB join (ibis), which
    # the project's offline store replaced (dagster_project/feast_ext/offline_store.py); one run
    import dagster_project.feast_ext.offline_store as offline_store

    original = offline_store.asof_historical_features
    offline_store.asof_historical_features = lambda *args, **kwargs: None
    try:
        t = time.perf_counter()
        feast_historical(store, entity_df)
        stock_seconds = time.perf_counter() - t
    finally:
        offline_store.asof_historical_features = original
    log(f"historical, Feast's stock ibis join: {stock_seconds:.2f}s")
    return {"entity_rows": rows, "feast_seconds": feast_times, "asof_seconds": asof_times, "checks": checks[-1],
            "same_result_shape": same, "feast_stock_ibis_seconds": stock_seconds}


# ----------------------------------------------------------------------- materialize vs raw Redis

def _project_keys(client, project: str) -> list[bytes]:
    suffix = project.encode()
    return [k for k in client.scan_iter(match=b"*" + suffix, count=5000) if k.endswith(suffix)]


def measure_materialize(redis_settings, runs: int) -> dict:
    """redis_settings: Settings with online_store=redis and a unique feast_project (already applied)."""
    import redis

    from dagster_project.feast_ext.feature_tables import feature_table_path
    from dagster_project.feast_ext.publish import materialize_view

    client = redis.Redis.from_url(redis_settings.redis_url)
    import duckdb

    (entities,) = duckdb.connect().execute(
        f"select count(distinct customer_id) from read_parquet('{feature_table_path(redis_settings, 'customer_features')}')"
    ).fetchone()
    mat_times = []
    for i in range(runs):
        t = time.perf_counter()
        materialize_view(redis_settings, "customer_features")
        mat_times.append(time.perf_counter() - t)
        log(f"materialize run {i + 1}: {mat_times[-1]:.2f}s for {entities} entities")

    # the very hashes Feast wrote (customer_features fields only), read back untimed
    keys = _project_keys(client, redis_settings.feast_project)
    pipe = client.pipeline(transaction=False)
    for k in keys:
        pipe.hgetall(k)
    hashes = [h for h in pipe.execute() if h]
    payload_bytes = sum(len(f) + len(v) for h in hashes for f, v in h.items())
    fields_per_hash = median([len(h) for h in hashes])
    prefix = f"bench_raw:{uuid.uuid4().hex[:8]}:".encode()
    raw_times = []
    try:
        for i in range(runs):
            t = time.perf_counter()
            pipe = client.pipeline(transaction=False)
            for n, mapping in enumerate(hashes):
                pipe.hset(prefix + str(n).encode(), mapping=mapping)
                if n % 1000 == 999:
                    pipe.execute()
            pipe.execute()
            raw_times.append(time.perf_counter() - t)
            log(f"raw redis run {i + 1}: {raw_times[-1]:.3f}s for {len(hashes)} hashes")
    finally:
        raw_keys = list(client.scan_iter(match=prefix + b"*", count=5000))
        for start in range(0, len(raw_keys), 1000):
            client.delete(*raw_keys[start:start + 1000])
    return {
        "entities": int(entities),
        "redis_hashes": len(hashes),
        "fields_per_hash": fields_per_hash,
        "payload_bytes": payload_bytes,
        "materialize_seconds": mat_times,
        "raw_seconds": raw_times,
    }


# ------------------------------------------------------------- training set at 10M label rows

def all_feature_refs(store) -> list[str]:
    return [f"{view.name}:{f.name}" for view in sorted(store.list_feature_views(), key=lambda v: v.name)
            for f in view.features]


def write_labels(settings, rows: int, path: Path) -> None:
    """`rows` label rows straight to Parquet by DuckDB (no pandas): customer and product ids drawn
    from their feature tables by deterministic hashes (customers without a cart are unknown to
    cart_features), times with nanoseconds uniform over customer_features' range, a label and a
    weight."""
    import duckdb

    from dagster_project.feast_ext.feature_tables import feature_table_path

    cust, prod = feature_table_path(settings, "customer_features"), feature_table_path(settings, "product_features")
    conn = duckdb.connect(config={"memory_limit": settings.duckdb_memory_limit})
    try:
        conn.execute(f"""
            copy (
                with customers as (select list(distinct customer_id order by customer_id) as ids from read_parquet('{cust}')),
                     products as (select list(distinct product_id order by product_id) as ids from read_parquet('{prod}')),
                     span as (select epoch_ns(min(event_timestamp)) as lo, epoch_ns(max(event_timestamp)) as hi
                              from read_parquet('{cust}'))
                select customers.ids[1 + (hash(i, 'customer') % len(customers.ids))::bigint] as customer_id,
                       products.ids[1 + (hash(i, 'product') % len(products.ids))::bigint] as product_id,
                       make_timestamp_ns(span.lo + (hash(i, 'time') % (span.hi - span.lo))::bigint) as event_timestamp,
                       (hash(i, 'label') % 2)::tinyint as label,
                       ((hash(i, 'weight') % 1000) / 1000.0)::float as weight
                from range({rows}) as r(i), customers, products, span
                order by i
            ) to '{path}' (format parquet)
        """)
    finally:
        conn.close()


def _training_child(data_dir: Path, labels: Path, out: Path, baseline: bool) -> int:
    """One measured run in its own process: the project's training_set, or the hand-written join."""
    from bench.common import make_settings
    from dagster_project.feast_ext.feature_tables import feature_table_path
    from dagster_project.feast_ext.repo import get_feature_store
    from dagster_project.feast_ext.offline_store import training_set

    settings = make_settings(data_dir, feast_project=os.environ.get("RCL_FEAST_PROJECT", "retail_context_bench"),
                             feast_dir=Path(os.environ["RCL_FEAST_DIR"]))
    store = get_feature_store(settings)
    refs = all_feature_refs(store)
    started = time.perf_counter()
    if not baseline:
        result = training_set(store, labels, refs, out_path=out, overwrite=True)
        report = {"rows": result.rows, "null_key_rows": result.null_key_rows,
                  "unknown_key_rows": result.unknown_key_rows, "path_taken": result.path_taken}
    else:
        import duckdb

        by_view: dict = {}
        for ref in refs:
            view, _, feature = ref.partition(":")
            by_view.setdefault(view, []).append(feature)
        selects, joins = [], []
        for n, (view_name, features) in enumerate(by_view.items()):
            view = store.get_feature_view(view_name)
            key = view.entity_columns[0].name
            joins.append(f"asof left join read_parquet('{feature_table_path(settings, view_name)}') as f{n} "
                         f"on e.{key} = f{n}.{key} and e.ts >= f{n}.event_timestamp")
            selects += [f"case when f{n}.event_timestamp >= e.ts - interval {view.ttl.days} day then f{n}.{f} end "
                        f"as {f}" for f in features]
        conn = duckdb.connect(config={"memory_limit": settings.duckdb_memory_limit})
        conn.execute(f"""
            copy (select e.*, {', '.join(selects)}
                  from (select *, cast(event_timestamp as timestamp) as ts from read_parquet('{labels}')) as e
                  {' '.join(joins)})
            to '{out}' (format parquet)
        """)
        conn.close()
        report = {"rows": None}
    report["seconds"] = time.perf_counter() - started
    print("RESULT " + json.dumps(report))
    return 0


def measure_training_set(settings, rows: int, work: Path) -> dict:
    """training_set vs the hand-written join, each in a child process under peak-RSS polling."""
    import pyarrow.parquet as pq

    from bench.common import REPO_ROOT, run_with_peak_rss

    labels = work / "labels.parquet"
    t = time.perf_counter()
    write_labels(settings, rows, labels)
    log(f"training set: {rows:,} label rows written in {time.perf_counter() - t:.1f}s")
    runs = {}
    for name, baseline in (("training_set", False), ("hand_asof", True)):
        out = work / f"{name}.parquet"
        cmd = [sys.executable, "-m", "bench.offline", "--training-child", str(settings.data_dir), str(labels), str(out)]
        if baseline:
            cmd.append("--baseline")
        m = run_with_peak_rss(cmd, env={**os.environ, **settings.env()}, cwd=REPO_ROOT)
        m.pop("timeline")
        result = next((json.loads(line[7:]) for line in m["stdout_tail"].splitlines() if line.startswith("RESULT ")), None)
        m["peak_gib"] = max(v for v in (m["tree_peak_gib"], m["time_max_rss_gib"]) if v is not None)
        m["result"] = result
        m["out_rows"] = pq.read_metadata(out).num_rows if out.exists() else None
        m["out_bytes"] = out.stat().st_size if out.exists() else None
        log(f"training set {name}: {m['seconds']:.1f}s process, {result and result['seconds']:.1f}s join, "
            f"peak {m['peak_gib']:.2f} GiB, rc {m['returncode']}")
        if m["returncode"] != 0:
            log(m["stderr_tail"])
        runs[name] = m
        out.unlink(missing_ok=True)
    labels.unlink(missing_ok=True)
    return {"entity_rows": rows, **runs}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.offline")
    parser.add_argument("--training-child", nargs=3, type=Path, metavar=("DATA_DIR", "LABELS", "OUT"), required=True,
                        help="one measured training-set run (the child process of measure_training_set)")
    parser.add_argument("--baseline", action="store_true", help="the hand-written ASOF join instead")
    args = parser.parse_args()
    sys.exit(_training_child(*args.training_child, baseline=args.baseline))
