"""`make bench` / `python -m bench --scale small|standard [--runs N] [--only GROUPS]`
`python -m bench --write-docs`  regenerates the table in docs/benchmarks.md from latest.json.

Groups (in run order): generate, build (build_vs_sql + identity), incremental, orchestration,
feast (historical, materialize, online SDK + HTTP), serving (the project's server, `rcl serve`, open
loop against an empty endpoint), rss, and on request only: pushes (WMS stock and OMS order status
pushes through `rcl serve` until visible, bench/pushes.py) and training (a training set of
--training-rows label rows, 10M by default). Everything runs in a temporary data dir;
Redis keys of the run's own Feast project are removed at the end.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import traceback
import uuid
from datetime import datetime, timezone
from pathlib import Path

from bench import report
from bench.common import detail, log, machine, make_settings, median, null_detail

GROUPS = ("generate", "build", "incremental", "orchestration", "feast", "serving", "pushes", "rss", "training")
# rss = a separate child process running the whole full_pipeline job (standard scale by default);
# without it, peak_rss_gib comes from polling this process tree during the build runs
DEFAULT_GROUPS = {"small": ("generate", "build", "incremental", "orchestration", "feast", "serving"),
                  "standard": ("generate", "build", "incremental", "orchestration", "feast", "serving", "rss")}

# per scale: runs, historical entity rows, online load bounds
PLAN = {
    # build and orchestration runs take minutes each on the shared 2-core machine: 2 at small
    "small": dict(runs=3, entity_rows=200_000, sdk_requests=500, latency_requests=2000, latency_duration=10.0,
                  step_requests=3000, step_duration=3.0, generate_runs=3, build_runs=2, orchestration_runs=2),
    "standard": dict(runs=1, entity_rows=1_000_000, sdk_requests=1000, latency_requests=3000, latency_duration=15.0,
                     step_requests=5000, step_duration=4.0, generate_runs=1, build_runs=1, orchestration_runs=1),
}


def ratio_runs(numerators, denominators):
    return [n / d for n, d in zip(numerators, denominators) if n is not None and d]


def _top_profile_lines(text: str | None, n: int = 12) -> str:
    if not text:
        return ""
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if "ncalls" in l), 0)
    return "\n".join(lines[start:start + n + 1])


def run_generate(out: dict, data_dir: Path, scale, runs: int, work: Path) -> None:
    from dagster_project.sample_data.generator import generate

    rates, details = [], []
    for i in range(runs):
        landing = data_dir / "landing" if i == 0 else work / f"gen{i}" / "landing"
        summary = generate(landing, scale=scale, seed=42)
        rows = sum(v for k, v in summary.items() if k not in ("seconds", "ground_truth_identifiers"))
        rates.append(rows / summary["seconds"])
        details.append({"rows": rows, "seconds": summary["seconds"]})
        log(f"generate run {i + 1}: {rows} rows in {summary['seconds']}s")
        if i > 0:
            shutil.rmtree(work / f"gen{i}", ignore_errors=True)
    out["generate_rows_per_s"] = median(rates)
    out["generate_rows_per_s_detail"] = detail(
        median(rates), unit="rows/s", runs=rates, target="report", note=(
            f"{details[0]['rows']:,} landing rows (13 entities) written by generate(scale={scale!r}, seed=42); "
            "rows / generate()'s own seconds."),
        rows=details[0]["rows"], seconds=[d["seconds"] for d in details])


def run_build(out: dict, settings, runs: int, work: Path, profile: bool, scale="small") -> None:
    from bench.build import measure_build_vs_sql
    from bench.identity import default_salt, score_identity

    m = measure_build_vs_sql(settings, runs, work, profile=profile)
    ratios = ratio_runs(m["pipeline_seconds"], m["sql_seconds"])
    steps = m["step_seconds_last_run"]
    ingest = sum(v for k, v in steps.items() if k.startswith("raw__"))
    dbt = sum(v for k, v in steps.items() if k.startswith("dbt"))
    other = sum(v for k, v in steps.items() if not (k.startswith("raw__") or k.startswith("dbt")))
    value = median(ratios) if m["pipeline_ok"] else None
    d = detail(value, baseline=median(m["sql_seconds"]), unit="ratio (seconds / seconds)", runs=ratios,
               target=1.5, comparison="<=",
               pipeline_seconds=m["pipeline_seconds"], sql_seconds=m["sql_seconds"],
               step_seconds_last_run=steps, manifest_parse_seconds_untimed=m["manifest_parse_seconds"],
               feature_rows_pipeline=m["feature_rows_pipeline"], feature_rows_sql=m["feature_rows_sql"],
               feature_rows_equal=m["feature_rows_equal"], failures=m["failures"],
               profile_top=_top_profile_lines(m["profile"], 25))
    d["note"] = (
        f"Dagster build {median(m['pipeline_seconds']):.1f}s vs SQL script {median(m['sql_seconds']):.1f}s (medians). "
        f"Last run by step: ingestion {ingest:.1f}s over {sum(1 for k in steps if k.startswith('raw__'))} steps, "
        f"dbt build {dbt:.1f}s, other (GX checks) {other:.1f}s. "
        f"Feature rows pipeline {m['feature_rows_pipeline']} vs SQL {m['feature_rows_sql']}"
        f" ({'equal' if m['feature_rows_equal'] else 'NOT equal'})."
        + ("" if m["pipeline_ok"] else f" The pipeline run failed: {m['failures'][:1]}")
    )
    out["build_vs_sql_ratio"] = value
    out["build_vs_sql_ratio_detail"] = d

    peaks = [r["tree_peak_gib"] for r in m["rss_peaks"]]
    if peaks:
        out["peak_rss_gib"] = max(peaks)
        out["peak_rss_gib_detail"] = detail(
            max(peaks), unit="GiB", runs=peaks, target=4, comparison="<=", scale=str(scale), method="in-process tree poll",
            note=(f"scale {scale}: summed RSS of the bench process and its children (the dbt subprocess), polled every "
                  "50 ms with psutil during each build run (ingestion, dbt, GX; no Feast); the largest of the runs. "
                  "Includes the bench process's own imports, so it overstates the build slightly."
                  + ("" if str(scale) == "standard" else " The target is for standard scale.")))

    truth = settings.data_dir / "ground_truth" / "identities.parquet"
    score = score_identity(settings.warehouse_path, truth, default_salt(settings))
    common = dict(unit="pairwise fraction", runs=[], pairs=score, note=(
        f"{score['true_positive_pairs']:,} true-positive identifier pairs of {score['predicted_pairs']:,} predicted "
        f"and {score['true_pairs']:,} true; {score['identifiers_stitched']:,}/{score['identifiers']:,} ground-truth "
        "identifiers found in intermediate.int_identities_stitched. Deterministic: one scoring of the last build."))
    out["identity_precision"] = score["precision"]
    out["identity_precision_detail"] = detail(score["precision"], target=0.99, comparison=">=", **common)
    out["identity_recall"] = score["recall"]
    out["identity_recall_detail"] = detail(score["recall"], target=0.97, comparison=">=", **common)


def run_incremental(out: dict, settings, runs: int, work: Path) -> None:
    from bench.build import measure_incremental

    m = measure_incremental(settings, runs, work)
    ratios = ratio_runs(m["incremental_seconds"], m["full_seconds"])
    value = median(ratios) if not m["failures"] else None
    steps = m["step_seconds_last_run"]
    partitioned = sum(v for k, v in steps.items() if k.startswith(("raw__", "dbt_daily")))
    rest = sum(v for k, v in steps.items() if not (k.startswith(("raw__", "dbt_daily"))))
    d = detail(value, baseline=median(m["full_seconds"]), unit="ratio (seconds / seconds)", runs=ratios,
               target=0.05, comparison="<=", full_seconds=m["full_seconds"],
               incremental_seconds=m["incremental_seconds"], step_seconds_last_run=steps, failures=m["failures"],
               new_day_rows=m["new_day_rows"], all_rows=m["all_rows"])
    d["note"] = (
        f"Day {m['day']} ({m['new_day_rows']:,} of {m['all_rows']:,} landing rows, "
        f"{100 * m['new_day_rows'] / max(m['all_rows'], 1):.1f} %) as one daily partition "
        f"{median(m['incremental_seconds']):.1f}s vs the full build of the {m['days'] - 1} days before it "
        f"{median(m['full_seconds']):.1f}s (medians; both without Feast). In the partition run, the partitioned "
        f"steps (ingestion of the day and its {settings.late_data_lookback_days} look-back days, the incremental "
        f"dbt models and their tests) took {partitioned:.1f}s and the unpartitioned rest (identity, marts, "
        f"features, their tests and the GX gates, rebuilt from all of history) {rest:.1f}s."
        + ("" if not m["failures"] else f" Failed: {m['failures'][:1]}"))
    out["incremental_vs_full_ratio"] = value
    out["incremental_vs_full_ratio_detail"] = d


def run_orchestration(out: dict, settings, runs: int, work: Path) -> None:
    from bench.build import measure_orchestration

    m = measure_orchestration(settings, runs, work)
    ratios = ratio_runs(m["dagster_seconds"], m["plain_dbt_seconds"])
    value = median(ratios) if not m["problems"] else None
    nodes = _dbt_node_times(work / "dbt_target" / "run_results.json")
    d = detail(value, baseline=median(m["plain_dbt_seconds"]), unit="ratio (seconds / seconds)", runs=ratios,
               target=1.15, comparison="<=", dagster_seconds=m["dagster_seconds"],
               plain_dbt_seconds=m["plain_dbt_seconds"], problems=m["problems"], plain_dbt_nodes=nodes)
    d["note"] = (
        f"dbt asset via Dagster {median(m['dagster_seconds']):.1f}s vs plain dbt build {median(m['plain_dbt_seconds']):.1f}s "
        f"(medians); in plain dbt, {nodes['count']} nodes took {nodes['total_seconds']:.1f}s of node time "
        f"(summed over dbt's 2 threads)." if nodes else "")
    out["orchestration_overhead_ratio"] = value
    out["orchestration_overhead_ratio_detail"] = d


def _dbt_node_times(path: Path) -> dict | None:
    import json

    if not path.exists():
        return None
    results = json.loads(path.read_text())["results"]
    times = sorted(((r["unique_id"], r["execution_time"]) for r in results), key=lambda x: -x[1])
    return {"count": len(times), "total_seconds": sum(t for _, t in times),
            "slowest": [{"node": k, "seconds": round(t, 2)} for k, t in times[:6]]}


def run_feast(out: dict, settings, plan: dict, work: Path) -> None:
    from bench import offline, online
    from dagster_project.feast_ext.publish import materialize_view
    from dagster_project.feast_ext.repo import apply_feature_repo, get_feature_store

    runs = plan["runs"]
    project = f"bench_{uuid.uuid4().hex[:10]}"
    redis_settings = make_settings(settings.data_dir, feast_dir=work / "feast_redis", online_store="redis",
                                   feast_project=project)
    apply_feature_repo(redis_settings)
    store = None
    try:
        # historical (offline store: DuckDB over the same Parquet for either online store)
        h = offline.measure_historical(redis_settings, plan["entity_rows"], runs)
        ratios = ratio_runs(h["feast_seconds"], h["asof_seconds"])
        value = median(ratios) if h["same_result_shape"] else None
        out["historical_vs_asof_ratio"] = value
        out["historical_vs_asof_ratio_detail"] = detail(
            value, baseline=median(h["asof_seconds"]), unit="ratio (seconds / seconds)", runs=ratios,
            target=2, comparison="<=", entity_rows=h["entity_rows"], feast_seconds=h["feast_seconds"],
            asof_seconds=h["asof_seconds"], checks=h["checks"], same_result_shape=h["same_result_shape"],
            feast_stock_ibis_seconds=h["feast_stock_ibis_seconds"],
            note=(f"{h['entity_rows']:,} entity rows x 16 customer_features: Feast's get_historical_features(...).to_df() "
                  f"through the project's offline store (AsofDuckDBOfflineStore) {median(h['feast_seconds']):.2f}s "
                  f"vs the hand-written ASOF JOIN {median(h['asof_seconds']):.2f}s (medians); rows and non-null counts "
                  f"{'equal' if h['same_result_shape'] else 'DIFFER'}. Feast's stock DuckDB join (ibis) on the same "
                  f"request: {h['feast_stock_ibis_seconds']:.2f}s (one run)."))

        # materialize vs raw redis
        m = offline.measure_materialize(redis_settings, runs)
        mat_rps = [m["entities"] / s for s in m["materialize_seconds"]]
        raw_rps = [m["redis_hashes"] / s for s in m["raw_seconds"]]
        ratios = ratio_runs(mat_rps, raw_rps)
        out["materialize_vs_raw_redis_ratio"] = median(ratios)
        out["materialize_vs_raw_redis_ratio_detail"] = detail(
            median(ratios), baseline=median(raw_rps), unit="ratio (rows/s / rows/s)", runs=ratios,
            target=0.33, comparison=">=", materialize_rows_per_s=mat_rps, raw_rows_per_s=raw_rps, **{
                k: m[k] for k in ("entities", "redis_hashes", "fields_per_hash", "payload_bytes",
                                  "materialize_seconds", "raw_seconds")},
            note=(f"{m['entities']:,} customers (latest row each) materialized at {median(mat_rps):,.0f} rows/s vs the same "
                  f"{m['redis_hashes']:,} hashes ({m['payload_bytes']:,} bytes) written with redis-py pipelines at "
                  f"{median(raw_rps):,.0f} rows/s. Materialize time is the whole materialize_view call: opening the "
                  "feature store, reading the latest row per customer from the Parquet (one DuckDB query), encoding "
                  "the values and the one MULTI/EXEC publish, and recording the interval in the registry."))

        # online: SDK and HTTP
        materialize_view(redis_settings, "product_features")
        store = get_feature_store(redis_settings)
        pairs = online.sample_pairs(redis_settings)
        sdk_runs = [online.measure_sdk(store, pairs, plan["sdk_requests"]) for _ in range(runs)]
        p50s = [r["p50_ms"] for r in sdk_runs]
        note = (f"get_online_features(33 refs, 1 customer x 1 product).to_dict(), {plan['sdk_requests']} calls per run "
                f"after 50 warm-up; p99 {median([r['p99_ms'] for r in sdk_runs]):.2f} ms; "
                f"{sdk_runs[-1]['non_null_in_last']} non-null columns in the last answer.")
        sdk_detail = detail(median(p50s), unit="ms", runs=p50s, target=1, comparison="<=", sdk_runs=sdk_runs, note=note)
        if not sdk_detail["meets_target"]:
            sdk_detail["profile_top"] = _top_profile_lines(online.profile_sdk(store, pairs), 20)
        out["online_sdk_p50_ms"] = median(p50s)
        out["online_sdk_p50_ms_detail"] = sdk_detail

        hw = work / "http"
        hw.mkdir(exist_ok=True)
        http = online.measure_http(redis_settings, pairs, runs, plan["latency_requests"], plan["latency_duration"],
                                   plan["step_requests"], plan["step_duration"], hw)
        p99s = [r["p99_ms"] for r in http["latency_runs"]]
        out["online_http_p99_ms"] = median(p99s)
        out["online_http_p99_ms_detail"] = detail(
            median(p99s), unit="ms", runs=p99s, target=5, comparison="<=", latency_runs=http["latency_runs"],
            response_feature_columns=http["response_feature_columns"],
            latency_without_worker_recycling=http["latency_without_worker_recycling"],
            note=(f"feast serve (gunicorn + uvicorn worker, 1 worker) on loopback, load from bench.loadgen in another "
                  f"process, open loop at {online.LATENCY_RATE} req/s, up to {plan['latency_requests']} requests / "
                  f"{plan['latency_duration']:.0f}s "
                  f"per run; p50 {median([r['p50_ms'] for r in http['latency_runs']]):.2f} ms. Diagnostic run with "
                  f"gunicorn worker recycling off (--max-requests 0, feast's default is 1000): p50 "
                  f"{http['latency_without_worker_recycling']['p50_ms']:.2f} ms, p99 "
                  f"{http['latency_without_worker_recycling']['p99_ms']:.2f} ms."))
        push = http["push"]
        out["push_to_online_p99_ms"] = push["p99_ms"]
        out["push_to_online_p99_ms_detail"] = detail(
            push["p99_ms"], unit="ms", runs=[push["p99_ms"]], target=1000, comparison="<=", push=push,
            note=(f"{push['pushes']} cart changes POSTed one at a time to feast serve's /push (push source "
                  f"cart_features_push, to the Redis online store), each polled through /get-online-features on the "
                  f"same server until the pushed cart_value came back: p50 {push['p50_ms']:.2f} ms, max "
                  f"{push['max_ms']:.2f} ms, {push['mean_polls']:.2f} polls on average (1 = visible on the first read)."))
        feast_best = [c["best"]["rate"] if c["best"] else 0.0 for c in http["feast_capacity_runs"]]
        empty_best = [c["best"]["rate"] if c["best"] else None for c in http["empty_capacity_runs"]]
        ratios = ratio_runs(feast_best, empty_best)
        out["online_http_vs_empty_rps_ratio"] = median(ratios)
        out["online_http_vs_empty_rps_ratio_detail"] = detail(
            median(ratios), baseline=median(empty_best), unit="ratio (req/s / req/s)", runs=ratios, target=0.5,
            comparison=">=", feast_best_rps=feast_best, empty_best_rps=empty_best,
            feast_max_rps_any_p99=[c["max_rps_any_p99"] for c in http["feast_capacity_runs"]],
            empty_max_rps_any_p99=[c["max_rps_any_p99"] for c in http["empty_capacity_runs"]],
            feast_levels_last_run=http["feast_capacity_runs"][-1]["levels"],
            empty_levels_last_run=http["empty_capacity_runs"][-1]["levels"],
            note=(f"highest open-loop rate with p99 <= 10 ms, rates stepped {online.CAPACITY_RATES}, "
                  f"{plan['step_duration']:.0f}s / {plan['step_requests']} requests per step: feature server "
                  f"{median(feast_best):,.0f} vs empty endpoint {median(empty_best) or 0:,.0f} req/s (medians). "
                  "Load generator and servers share the 2 cores."))
    finally:
        try:
            (store or get_feature_store(redis_settings)).teardown()
        except Exception as exc:  # report, do not hide the measurement's own error
            log(f"teardown of Feast project {project} failed: {exc}")
        _delete_project_keys(redis_settings)


def run_serving(out: dict, settings, plan: dict, work: Path) -> None:
    """The project's server (rcl serve, Redis) and an empty endpoint on its stack, open loop."""
    from bench import online
    from dagster_project.feast_ext.feature_tables import FEATURE_VIEWS
    from dagster_project.feast_ext.publish import materialize_view
    from dagster_project.feast_ext.repo import apply_feature_repo, get_feature_store

    project = f"bench_{uuid.uuid4().hex[:10]}"
    redis_settings = make_settings(settings.data_dir, feast_dir=work / "feast_serving", online_store="redis",
                                   feast_project=project)
    apply_feature_repo(redis_settings)
    try:
        for view in FEATURE_VIEWS:
            materialize_view(redis_settings, view)
        pairs = online.sample_pairs(redis_settings)
        hw = work / "serving"
        hw.mkdir(exist_ok=True)
        m = online.measure_serving(redis_settings, pairs, hw, plan["step_duration"], plan["step_requests"])
        _serving_figures(out, m, plan)
    finally:
        try:
            get_feature_store(redis_settings).teardown()
        except Exception as exc:
            log(f"teardown of Feast project {project} failed: {exc}")
        _delete_project_keys(redis_settings)


def run_pushes(out: dict, settings, plan: dict, work: Path) -> None:
    """Stock and order status pushes through `rcl serve` (Redis) until visible (bench/pushes.py)."""
    from bench import online, pushes
    from dagster_project.feast_ext.publish import materialize_view
    from dagster_project.feast_ext.repo import apply_feature_repo, get_feature_store

    project = f"bench_{uuid.uuid4().hex[:10]}"
    # pushes append to the offline tables: a copy, so a --built-data-dir is only read
    features = work / "features_pushes"
    shutil.copytree(settings.features_dir, features, dirs_exist_ok=True)
    redis_settings = make_settings(settings.data_dir, feast_dir=work / "feast_pushes", online_store="redis",
                                   feast_project=project, features_dir=features)
    apply_feature_repo(redis_settings)
    port, log_file = online.free_port(), open(work / "pushes_server.log", "w")
    server = None
    try:
        for view in ("stock_by_location", "order_status"):
            materialize_view(redis_settings, view)
        import duckdb
        with duckdb.connect() as con:
            stock_pairs = con.execute(f"select distinct product_id, location_id from read_parquet('{features}/stock_by_location.parquet') "
                                      "order by 1, 2 limit 50").fetchall()
            orders = con.execute(f"select distinct order_id, item_count from read_parquet('{features}/order_status.parquet') "
                                 "order by 1 limit 50").fetchall()
        server = online.start_project_server(redis_settings, port, log_file, work / "pushes_served_context")
        online.wait_ready(port, server)
        m = pushes.measure_pushes(port, stock_pairs, orders, pushes=200)
        log(f"pushes: stock p99 {m['stock']['p99_ms']:.1f} ms, order status p99 {m['order_status']['p99_ms']:.1f} ms")
        for key, name in (("stock", "stock_push_to_visible_p99_ms"), ("order_status", "order_status_push_to_visible_p99_ms")):
            out[name] = m[key]["p99_ms"]
            out[f"{name}_detail"] = detail(m[key]["p99_ms"], unit="ms", runs=[m[key]["p99_ms"]], target=1000,
                                           comparison="<=", **m[key], acknowledged=m[f"{key}_ack"],
                                           note=pushes.__doc__.split("\n\n")[0])
    finally:
        if server is not None:
            online.stop(server)
        log_file.close()
        try:
            get_feature_store(redis_settings).teardown()
        except Exception as exc:
            log(f"teardown of Feast project {project} failed: {exc}")
        _delete_project_keys(redis_settings)


def _serving_figures(out: dict, m: dict, plan: dict) -> None:
    def at(profile: dict, rate: int) -> dict:
        return next(level for level in profile["levels"] if level["rate"] == rate)

    one, hundred, empty = m["one_entity"], m["hundred_entities"], m["empty"]
    common = dict(workers=m["workers"], one_entity_levels=one["levels"], hundred_entities_levels=hundred["levels"],
                  empty_levels=empty["levels"], present_in_sample=m["present_in_sample"],
                  values_in_sample=m["values_in_sample"])
    level = at(one, 500)
    out["serving_http_p99_ms_at_500rps"] = level["p99_ms"]
    out["serving_http_p99_ms_at_500rps_detail"] = detail(
        level["p99_ms"], unit="ms", runs=[level["p99_ms"]], target=5, comparison="<=", **common,
        note=(f"rcl serve ({m['workers']} uvicorn workers, Redis) on loopback, personalization_v1 for 1 customer x 1 "
              f"product ({m['response_columns']} columns), open loop at 500 req/s for {plan['step_duration']:.0f}s: "
              f"p50 {level['p50_ms']:.2f} ms; at 100 req/s p99 {at(one, 100)['p99_ms']:.2f} ms, at 1,000 req/s p99 "
              f"{at(one, 1000)['p99_ms']:.2f} ms. Load generator and servers share the 2 cores."))
    def best_rate(profile: dict):
        return ((profile.get("capacity") or {}).get("best") or {}).get("rate")

    best, base = best_rate(one), best_rate(empty)
    ratio = best / base if best and base else (0.0 if base else None)
    out["serving_vs_empty_capacity_ratio"] = ratio
    out["serving_vs_empty_capacity_ratio_detail"] = detail(
        ratio, baseline=base, unit="ratio (req/s / req/s)", runs=[ratio], target=0.5, comparison=">=",
        serving_capacity=one["capacity"], empty_capacity=empty["capacity"], hundred_entities_capacity=hundred["capacity"],
        note=(f"highest open-loop rate with p99 <= 10 ms (rates {CAPACITY_NOTE}): rcl serve {best or 0:,} vs the "
              f"empty Starlette endpoint under the same uvicorn options {base or 0:,} req/s; 100 entities per "
              f"request: {best_rate(hundred) or 0:,} req/s."))
    level = at(hundred, 100)
    out["serving_http_100_entities_p99_ms"] = level["p99_ms"]
    out["serving_http_100_entities_p99_ms_detail"] = detail(
        level["p99_ms"], unit="ms", runs=[level["p99_ms"]], target=20, comparison="<=", **common,
        note=(f"personalization_v1 for 100 customer x product pairs per request at 100 req/s open loop: p50 "
              f"{level['p50_ms']:.2f} ms; at 500 req/s p99 {at(hundred, 500)['p99_ms']:.2f} ms."))


CAPACITY_NOTE = "100 .. 8,000 req/s"


def run_training(out: dict, settings, rows: int, work: Path) -> None:
    from bench import offline
    from dagster_project.feast_ext.repo import apply_feature_repo

    training_settings = make_settings(settings.data_dir, feast_dir=work / "feast_training",
                                      feast_project=f"bench_{uuid.uuid4().hex[:10]}")
    apply_feature_repo(training_settings)
    m = offline.measure_training_set(training_settings, rows, work)
    ours, hand = m["training_set"], m["hand_asof"]
    ok = ours["returncode"] == 0 and ours["out_rows"] == rows
    value = ours["peak_gib"] if ok else None
    join = (ours["result"] or {}).get("seconds")
    hand_join = (hand["result"] or {}).get("seconds")
    out["training_set_peak_rss_gib"] = value
    out["training_set_peak_rss_gib_detail"] = detail(
        value, unit="GiB", runs=[ours["peak_gib"]], target=4, comparison="<=", entity_rows=rows,
        seconds=join, process_seconds=ours["seconds"], hand_asof_seconds=hand_join,
        hand_asof_peak_gib=hand["peak_gib"], hand_asof_process_seconds=hand["seconds"], summary=ours["result"],
        out_rows=ours["out_rows"], out_bytes=ours["out_bytes"], duckdb_memory_limit=settings.duckdb_memory_limit,
        tree_peak_breakdown_gib=ours["tree_peak_breakdown_gib"][:3],
        **({} if ok else {"stderr_tail": ours["stderr_tail"]}),
        note=(f"{rows:,} label rows (Parquet, nanosecond times) x every feature of customer, product and cart "
              f"features: training_set(..., out_path=...) {join or 0:.1f}s in the call ({ours['seconds']:.1f}s with "
              f"process start and imports), peak RSS {ours['peak_gib']:.2f} GiB (process tree, psutil 50 ms, and GNU "
              f"time); the hand-written ASOF join with COPY (no time normalisation, no row order, no summary) "
              f"{hand_join or 0:.1f}s, peak {hand['peak_gib']:.2f} GiB. DuckDB memory limit "
              f"{settings.duckdb_memory_limit}; one run."))


def _delete_project_keys(redis_settings) -> None:
    import redis

    client = redis.Redis.from_url(redis_settings.redis_url)
    suffix = redis_settings.feast_project.encode()
    keys = [k for k in client.scan_iter(match=b"*" + suffix, count=5000) if k.endswith(suffix)]
    for i in range(0, len(keys), 1000):
        client.delete(*keys[i:i + 1000])


def run_rss(out: dict, settings, scale, work: Path) -> None:
    from bench.build import measure_peak_rss

    m = measure_peak_rss(settings.landing_dir, work)
    ok = m["returncode"] == 0
    value = m["peak_gib"] if ok else None
    out["peak_rss_gib"] = value
    out["peak_rss_gib_detail"] = detail(
        value, unit="GiB", runs=[m["peak_gib"]], target=4, comparison="<=", scale=str(scale),
        tree_peak_gib=m["tree_peak_gib"], tree_peak_processes=m["tree_peak_processes"],
        tree_peak_breakdown_gib=m.get("tree_peak_breakdown_gib"), step_peaks_gib=m.get("step_peaks_gib"),
        time_max_rss_gib=m["time_max_rss_gib"], seconds=m["seconds"], returncode=m["returncode"],
        **({} if ok else {"stderr_tail": m["stderr_tail"]}),
        note=(f"scale {scale}: full_pipeline job (ingestion, dbt, GX, feast apply + materialize to SQLite) in a child "
              f"process, {m['seconds']:.0f}s; process-tree RSS sum (psutil, 50 ms) {m['tree_peak_gib']:.2f} GiB over "
              f"{m['tree_peak_processes']} processes, GNU time max RSS of one process "
              f"{(m['time_max_rss_gib'] or 0):.2f} GiB; the larger is reported. One run."
              + (f" Highest while these steps ran (GiB): "
                 + ", ".join(f"{step} {gib}" for step, gib, _ in m["step_peaks_gib"][:4]) + "."
                 if m.get("step_peaks_gib") else "")
              + ("" if str(scale) == "standard" else " The target is for standard scale.")))


NULLS: dict = {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="small", help="small (default), standard, or a factor of small")
    parser.add_argument("--runs", type=int, help="runs per figure (default: 3 at small, 1 at standard)")
    parser.add_argument("--only", help=f"comma-separated groups of {GROUPS}")
    parser.add_argument("--out", type=Path, help="results file (default bench/results/latest.json)")
    parser.add_argument("--write-docs", action="store_true", help="only regenerate the docs table from --out")
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--profile", action="store_true", help="cProfile the last build run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    parser.add_argument("--training-rows", type=int, default=10_000_000,
                        help="label rows of the training group (default 10,000,000)")
    parser.add_argument("--built-data-dir", type=Path,
                        help="measure the feast group on this already-built data dir (e.g. one of "
                             "`make demo SCALE=standard`) instead of generating and building one; its feature "
                             "tables are only read (Feast registry and Redis keys of the run's own project)")
    args = parser.parse_args(argv)
    out_path = args.out or report.LATEST
    if args.write_docs:
        report.write_docs(report.read_json(out_path))
        print(f"docs/benchmarks.md table regenerated from {report.sanitize(str(out_path))}")
        return 0

    scale = args.scale if args.scale in ("small", "standard") else float(args.scale)
    plan = dict(PLAN["standard" if scale == "standard" else "small"])
    if args.runs:
        plan.update(runs=args.runs, generate_runs=args.runs, build_runs=args.runs, orchestration_runs=args.runs)
    groups = ([g.strip() for g in args.only.split(",")] if args.only
              else list(DEFAULT_GROUPS["standard" if scale == "standard" else "small"]))
    unknown = set(groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown groups {sorted(unknown)}")
    if args.built_data_dir is not None:
        if not set(groups) <= {"feast", "serving", "pushes", "training"}:
            parser.error("--built-data-dir is for the feast group only (and the serving and the optional training "
                         "groups): add --only feast, --only serving or --only training")
        if not (args.built_data_dir / "features" / "customer_features.parquet").exists():
            parser.error(f"{args.built_data_dir} has no features/customer_features.parquet: build it first")

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="rcl-bench-"))
    data_dir = args.built_data_dir.resolve() if args.built_data_dir is not None else work / "data"
    settings = make_settings(data_dir, feast_project=f"bench_{uuid.uuid4().hex[:8]}")
    out: dict = {
        "scale": str(scale), "runs": plan["runs"],
        **({"built_data_dir": "a data dir built before the run (--built-data-dir)"} if args.built_data_dir else {}),
        "runs_per_group": {k: plan[k] for k in ("generate_runs", "build_runs", "orchestration_runs", "runs")},
        "machine": machine(),
        "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    errors = {}

    def attempt(name, fn, *a):
        t = time.perf_counter()
        try:
            fn(*a)
        except Exception as exc:
            errors[name] = f"{exc.__class__.__name__}: {exc}"
            log(f"group {name} failed:\n{traceback.format_exc()}")
        log(f"group {name} done in {time.perf_counter() - t:.0f}s")

    try:
        # the later groups need the landing files and a built warehouse
        need_data = args.built_data_dir is None and any(
            g in groups for g in ("build", "incremental", "orchestration", "feast", "serving", "pushes", "rss", "training"))
        if "generate" in groups or need_data:
            attempt("generate", run_generate, out, data_dir, scale, plan["generate_runs"] if "generate" in groups else 1, work)
            if "generate" not in groups:
                out.pop("generate_rows_per_s", None), out.pop("generate_rows_per_s_detail", None)
        if "build" in groups or (need_data and any(g in groups for g in ("incremental", "orchestration", "feast",
                                                                         "serving", "pushes", "training"))):
            attempt("build", run_build, out, settings, plan["build_runs"] if "build" in groups else 1, work, args.profile,
                    scale)
        if "incremental" in groups:
            attempt("incremental", run_incremental, out, settings, plan["build_runs"], work)
        if "orchestration" in groups:
            attempt("orchestration", run_orchestration, out, settings, plan["orchestration_runs"], work)
        if "feast" in groups:
            attempt("feast", run_feast, out, settings, plan, work)
        if "serving" in groups:
            attempt("serving", run_serving, out, settings, plan, work)
        if "pushes" in groups:
            attempt("pushes", run_pushes, out, settings, plan, work)
        if "rss" in groups:
            attempt("rss", run_rss, out, settings, scale, work)
        if "training" in groups:
            attempt("training", run_training, out, settings, args.training_rows, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept {work}")

    for key, spec in NULLS.items():
        spec = dict(spec)
        out[key] = None
        out[f"{key}_detail"] = null_detail(spec.pop("reason"), **spec)
    group_keys = {
        "generate": ["generate_rows_per_s"],
        "build": ["build_vs_sql_ratio", "identity_precision", "identity_recall", "peak_rss_gib"],
        "incremental": ["incremental_vs_full_ratio"],
        "orchestration": ["orchestration_overhead_ratio"],
        "feast": ["historical_vs_asof_ratio", "materialize_vs_raw_redis_ratio", "online_sdk_p50_ms",
                  "online_http_p99_ms", "online_http_vs_empty_rps_ratio", "push_to_online_p99_ms"],
        "serving": ["serving_http_p99_ms_at_500rps", "serving_vs_empty_capacity_ratio",
                    "serving_http_100_entities_p99_ms"],
        "pushes": ["stock_push_to_visible_p99_ms", "order_status_push_to_visible_p99_ms"],
        "rss": ["peak_rss_gib"],
        "training": ["training_set_peak_rss_gib"],
    }
    for group, keys in group_keys.items():
        for key in keys:
            if key not in out and group in errors:
                out[key] = None
                out[f"{key}_detail"] = null_detail(f"the {group} group failed in this run: {errors[group]}", unit="")
            elif key not in out and group in groups:
                out[key] = None
                out[f"{key}_detail"] = null_detail(f"not produced (group {group})", unit="")
    out["errors"] = errors
    out["bench_seconds"] = round(time.perf_counter() - started, 1)
    ordered = {k: out[k] for k in ("scale", "runs", "machine", "measured_at") if k in out}
    for key in report.FIGURES:
        if key in out:
            ordered[key] = out[key]
            ordered[f"{key}_detail"] = out.get(f"{key}_detail")
    ordered.update({k: v for k, v in out.items() if k not in ordered})
    report.write_json(ordered, out_path)
    log(f"wrote {report.sanitize(str(out_path))} in {ordered['bench_seconds']:.0f}s")
    if not args.no_docs and out_path == report.LATEST:
        report.write_docs(ordered)
    for key in report.FIGURES:
        if key in ordered:
            d = ordered.get(f"{key}_detail") or {}
            print(f"{key:34} {ordered[key]!s:>24}  target {d.get('target')}  met {d.get('meets_target')}")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
