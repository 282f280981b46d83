"""Online figures against Redis: the SDK call, Feast's HTTP feature server, and the project's own
server (dagster_project/serving) against an empty endpoint on its stack. Every HTTP figure is
open loop (bench/loadgen.py: fixed arrival rate, latency from the scheduled send time).

Request: 1 customer x 1 candidate product, all 16 customer_features + all 17 product_features
(33 features: every feature the project has for that pair; the issue's "~50" is more than exist).

* online_sdk_p50_ms: FeatureStore.get_online_features(...).to_dict() in this process, after a
  warm-up, cycling over sampled customer/product pairs.
* online_http_p99_ms: `feast serve` (gunicorn + uvicorn worker, 1 worker, access log off) as a
  subprocess on a loopback port; `python -m bench.loadgen` (another process) sends requests
  one at a time (concurrency 1), bounded in count and time; p99 of client-side latency.
* push_to_online_p99_ms: on the same `feast serve`, a cart change POSTed to /push (push source
  cart_features_push, to the online store) and then polled through /get-online-features until the
  server returns the pushed value; 200 pushes one after another, distinct values, client-side time.
* online_http_vs_empty_rps_ratio: the same load generator steps the arrival rate up (CAPACITY_RATES)
  for each server; the highest rate whose p99 <= 10 ms is the server's capacity; the baseline is
  bench/empty_app.py (POST returning {}) under gunicorn + the same uvicorn worker class, worker
  count and gunicorn options as feast serve's defaults.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.common import REPO_ROOT, VENV_BIN, log, percentile
from bench.offline import CUSTOMER_FEATURES

PRODUCT_FEATURES = (
    "price", "category_level_1", "brand", "is_active", "product_views_7d", "add_to_carts_7d",
    "units_sold_30d", "revenue_30d", "view_to_order_rate_30d", "return_rate_90d", "review_count",
    "avg_rating", "units_on_hand", "units_available", "locations_in_stock", "stores_in_stock", "is_in_stock",
)
FEATURE_REFS = [f"customer_features:{f}" for f in CUSTOMER_FEATURES] + [f"product_features:{f}" for f in PRODUCT_FEATURES]
P99_LIMIT_MS = 10.0
MAX_ERROR_RATE = 0.01  # errors tolerated in a qualifying level (reported in the levels)
# open-loop arrival rates (requests/s): the fixed levels reported, and the steps of the capacity search
REPORTED_RATES = (100, 500, 1000)
LATENCY_RATE = 100
CAPACITY_RATES = (100, 250, 500, 750, 1000, 1500, 2000, 3000, 4000, 6000, 8000)
# feast serve's defaults (feast/cli/serve.py), applied to the empty app as well
GUNICORN_OPTIONS = ["--workers", "1", "--worker-connections", "1000", "--max-requests", "1000",
                    "--max-requests-jitter", "50", "--keep-alive", "30"]


def sample_pairs(settings, n: int = 200, seed: int = 42) -> list[tuple[str, str]]:
    import duckdb

    from dagster_project.feast_ext.feature_tables import feature_table_path

    conn = duckdb.connect()
    customers = [r[0] for r in conn.execute(
        f"select distinct customer_id from read_parquet('{feature_table_path(settings, 'customer_features')}') "
        f"order by hash(customer_id || '{seed}') limit {n}").fetchall()]
    products = [r[0] for r in conn.execute(
        f"select distinct product_id from read_parquet('{feature_table_path(settings, 'product_features')}') "
        f"order by hash(product_id || '{seed}') limit {n}").fetchall()]
    conn.close()
    return [(customers[i % len(customers)], products[i % len(products)]) for i in range(max(len(customers), len(products)))]


def measure_sdk(store, pairs, requests: int = 500, warmup: int = 50) -> dict:
    latencies = []
    for i in range(warmup + requests):
        customer, product = pairs[i % len(pairs)]
        t = time.perf_counter()
        result = store.get_online_features(
            features=FEATURE_REFS, entity_rows=[{"customer_id": customer, "product_id": product}]).to_dict()
        elapsed = time.perf_counter() - t
        if i >= warmup:
            latencies.append(elapsed * 1000)
    non_null = sum(1 for k, v in result.items() if v and v[0] is not None)
    return {"requests": len(latencies), "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
            "features_returned": len(result) - 2, "non_null_in_last": non_null}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 120.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - started
        except Exception:
            time.sleep(0.5)
    raise TimeoutError(f"server on port {port} not ready after {timeout}s")


def start_feast_server(settings, port: int, log_file, extra: tuple = ()) -> subprocess.Popen:
    # the feature_store.yaml that applying the repo wrote into the Feast folder (fully resolved)
    cmd = [str(VENV_BIN / "feast"), "-c", str(settings.feast_dir), "serve",
           "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--workers", "1", *extra]
    return subprocess.Popen(cmd, env={**os.environ, **settings.env()}, cwd=REPO_ROOT, stdout=log_file,
                            stderr=subprocess.STDOUT, start_new_session=True)


def start_empty_server(port: int, log_file) -> subprocess.Popen:
    cmd = [str(VENV_BIN / "gunicorn"), "-k", "uvicorn_worker.UvicornWorker", *GUNICORN_OPTIONS,
           "--bind", f"127.0.0.1:{port}", "bench.empty_app:app"]
    return subprocess.Popen(cmd, env=dict(os.environ), cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    """Stop a server we started (gunicorn master + its worker: the session we created for it)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, 15)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def loadgen(port: int, body_file: Path, rate: float, requests: int, duration: float) -> dict:
    """One open-loop level (python -m bench.loadgen in another process): `rate` requests/s."""
    cmd = [sys.executable, "-m", "bench.loadgen", "--port", str(port), "--body-file", str(body_file),
           "--rate", str(rate), "--requests", str(requests), "--duration", str(duration)]
    out = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=duration + 120)
    if out.returncode != 0:
        raise RuntimeError(f"loadgen failed: {out.stderr[-1000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _level(r: dict) -> dict:
    return {k: r[k] for k in ("rate", "requests", "errors", "achieved_rps", "p50_ms", "p99_ms", "late_send_p99_ms")}


def _qualifies(r: dict) -> bool:
    return (r["errors"] <= MAX_ERROR_RATE * max(r["requests"], 1) and r["p99_ms"] is not None
            and r["p99_ms"] <= P99_LIMIT_MS)


def capacity(port: int, body_file: Path, duration: float, requests: int) -> dict:
    """Step the open-loop arrival rate up; the highest rate whose p99 <= 10 ms (and at most 1 %
    errors) is the capacity. Stops after two rates in a row miss."""
    levels, best = [], None
    over = 0
    for rate in CAPACITY_RATES:
        r = loadgen(port, body_file, rate, max(requests, int(rate * duration)), duration)
        levels.append(_level(r))
        ok = _qualifies(r)
        if ok and (best is None or rate > best["rate"]):
            best = levels[-1]
        over = 0 if ok else over + 1
        if over >= 2:
            break
    top = max(levels, key=lambda x: x["achieved_rps"]) if levels else None
    return {"best": best, "levels": levels, "max_rps_any_p99": top}


def write_bodies(pairs, path: Path) -> None:
    with open(path, "w") as f:
        for customer, product in pairs:
            f.write(json.dumps({"features": FEATURE_REFS,
                                "entities": {"customer_id": [customer], "product_id": [product]}}) + "\n")


def measure_http(settings, pairs, runs: int, latency_requests: int, latency_duration: float,
                 step_requests: int, step_duration: float, work_dir: Path) -> dict:
    body_file = work_dir / "bodies.jsonl"
    write_bodies(pairs, body_file)
    empty_body = work_dir / "empty_bodies.jsonl"
    empty_body.write_text("{}\n")
    feast_port, empty_port = free_port(), free_port()
    feast_log = open(work_dir / "feast_serve.log", "w")
    empty_log = open(work_dir / "empty_serve.log", "w")
    feast_proc = start_feast_server(settings, feast_port, feast_log)
    empty_proc = start_empty_server(empty_port, empty_log)
    try:
        feast_ready = wait_ready(feast_port, feast_proc)
        wait_ready(empty_port, empty_proc)
        # check the server answers with values before measuring
        req = urllib.request.Request(f"http://127.0.0.1:{feast_port}/get-online-features",
                                     data=body_file.read_text().splitlines()[0].encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            sample = json.loads(r.read())
        values = sample.get("results", [])
        latency_runs, feast_caps, empty_caps = [], [], []
        for i in range(runs):
            lat = loadgen(feast_port, body_file, LATENCY_RATE, latency_requests, latency_duration)
            latency_runs.append(lat)
            log(f"http latency run {i + 1}: p50 {lat['p50_ms']:.2f} ms p99 {lat['p99_ms']:.2f} ms "
                f"({lat['requests']} requests, {lat['errors']} errors)")
            feast_caps.append(capacity(feast_port, body_file, step_duration, step_requests))
            empty_caps.append(capacity(empty_port, empty_body, step_duration, step_requests))
            log(f"capacity run {i + 1}: feast {feast_caps[-1]['best']}, empty {empty_caps[-1]['best']}")
        customers = sorted({c for c, _ in pairs})
        push = measure_push(feast_port, customers, pushes=200)
        log(f"push to online: p50 {push['p50_ms']:.2f} ms p99 {push['p99_ms']:.2f} ms over {push['pushes']} pushes")
        # diagnostic, one run: the same latency load with gunicorn's worker recycling switched off
        # (feast serve defaults to --max-requests 1000: the worker restarts every ~1,000 requests)
        stop(feast_proc)
        port2 = free_port()
        feast_proc = start_feast_server(settings, port2, feast_log, ("--max-requests", "0"))
        wait_ready(port2, feast_proc)
        no_recycle = loadgen(port2, body_file, LATENCY_RATE, latency_requests, latency_duration)
        log(f"http latency, --max-requests 0: p50 {no_recycle['p50_ms']:.2f} ms p99 {no_recycle['p99_ms']:.2f} ms")
        return {
            "push": push,
            "latency_without_worker_recycling": no_recycle,
            "feast_server_start_seconds": feast_ready,
            "response_feature_columns": len(values),
            "latency_runs": latency_runs,
            "feast_capacity_runs": feast_caps,
            "empty_capacity_runs": empty_caps,
        }
    finally:
        stop(feast_proc)
        stop(empty_proc)
        feast_log.close()
        empty_log.close()


def profile_sdk(store, pairs, requests: int = 300, top: int = 15) -> str:
    """cProfile of the SDK call (cumulative time), for the note when a target is missed."""
    import cProfile
    import io
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for i in range(requests):
        customer, product = pairs[i % len(pairs)]
        store.get_online_features(features=FEATURE_REFS,
                                  entity_rows=[{"customer_id": customer, "product_id": product}]).to_dict()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def _post(conn, path: str, body: dict) -> dict:
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status}: {payload[:300]!r}")
    return json.loads(payload) if payload else {}


def push_and_wait(conn, customer_id: str, value: float, timeout: float = 10.0) -> tuple[float, int]:
    """POST /push one cart change for `customer_id` (cart_value = value), then poll
    /get-online-features until the online store returns that value. Returns (seconds, polls)."""
    from datetime import datetime, timezone

    started = time.perf_counter()
    _post(conn, "/push", {
        "push_source_name": "cart_features_push",
        "to": "online",
        "df": {
            "customer_id": [customer_id],
            "event_timestamp": [datetime.now(timezone.utc).isoformat()],
            "cart_id": [f"bench-{value:.2f}"],
            "cart_value": [value],
            "cart_items": [1],
            "cart_checkout_step": [1],
            "cart_shipping_amount_seen": [4.99],
            "cart_ordered": [False],
            "cart_device": ["desktop"],
        },
    })
    polls = 0
    while True:
        polls += 1
        answer = _post(conn, "/get-online-features", {"features": ["cart_features:cart_value"],
                                                      "entities": {"customer_id": [customer_id]}})
        names = answer["metadata"]["feature_names"]
        seen = answer["results"][names.index("cart_value")]["values"][0]
        if seen is not None and abs(float(seen) - value) < 1e-9:
            return time.perf_counter() - started, polls
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"pushed cart_value {value} for {customer_id} not visible after {timeout}s (last {seen})")


def measure_push(port: int, customers: list[str], pushes: int = 200) -> dict:
    """push_to_online_p99_ms: a cart change pushed through the feature server's /push until the same
    server returns it from /get-online-features (client-side, one at a time, distinct values)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times, polls = [], []
    try:
        for i in range(pushes):
            seconds, n = push_and_wait(conn, customers[i % len(customers)], 100.0 + i + 0.25)
            times.append(seconds * 1000)
            polls.append(n)
    finally:
        conn.close()
    return {"pushes": pushes, "p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99),
            "max_ms": max(times), "mean_polls": sum(polls) / len(polls)}


# ------------------------------------------------------------------ the project's server (rcl serve)

SERVING_WORKERS = 2  # one per core of the reference machine


def start_project_server(settings, port: int, log_file, served_context_dir: Path,
                         workers: int = SERVING_WORKERS) -> subprocess.Popen:
    """`rcl serve` on `settings` (its environment: the bench's own Feast directory and project), with
    the served-context log on (the default) written to the bench's work dir."""
    cmd = [sys.executable, "-m", "dagster_project.serving", "serve", "--port", str(port), "--workers", str(workers),
           "--online-store", settings.online_store]
    env = dict(os.environ, **settings.env(), PYTHONPATH=str(REPO_ROOT), RCL_SERVED_CONTEXT_DIR=str(served_context_dir))
    return subprocess.Popen(cmd, env=env, cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT,
                            start_new_session=True)


def start_empty_uvicorn(port: int, log_file, workers: int = SERVING_WORKERS) -> subprocess.Popen:
    """The empty endpoint on the project server's stack: Starlette under uvicorn, same options."""
    cmd = [str(VENV_BIN / "uvicorn"), "bench.empty_app:starlette_app", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
           "--log-level", "warning", "--timeout-keep-alive", "30"]
    return subprocess.Popen(cmd, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)), cwd=REPO_ROOT, stdout=log_file,
                            stderr=subprocess.STDOUT, start_new_session=True)


def write_service_bodies(pairs, path: Path, entities: int, service: str = "personalization_v1") -> None:
    """Requests of `entities` customer x product pairs each, every feature of the service."""
    with open(path, "w") as f:
        for i in range(max(1, len(pairs) // entities) if entities > 1 else len(pairs)):
            chunk = [pairs[(i * entities + j) % len(pairs)] for j in range(entities)]
            f.write(json.dumps({"feature_service": service,
                                "entities": {"customer_id": [c for c, _ in chunk],
                                             "product_id": [p for _, p in chunk]}}) + "\n")


def open_loop_profile(port: int, body_file: Path, duration: float, requests: int, search: bool = True) -> dict:
    """p50/p99 at the reported rates, and (search) the highest rate with p99 <= 10 ms."""
    levels = [_level(loadgen(port, body_file, rate, max(requests, int(rate * duration)), duration))
              for rate in REPORTED_RATES]
    return {"levels": levels, "capacity": capacity(port, body_file, duration, requests) if search else None}


def measure_serving(settings, pairs, work_dir: Path, duration: float, requests: int,
                    workers: int = SERVING_WORKERS) -> dict:
    """The project's server and the empty endpoint, same stack and worker count, open loop."""
    one, hundred, empty = work_dir / "one_entity.jsonl", work_dir / "hundred_entities.jsonl", work_dir / "empty.jsonl"
    write_service_bodies(pairs, one, 1)
    write_service_bodies(pairs, hundred, 100)
    empty.write_text("{}\n")
    project_port, empty_port = free_port(), free_port()
    logs = open(work_dir / "serving.log", "w")
    project = start_project_server(settings, project_port, logs, work_dir / "served_context", workers)
    baseline = start_empty_uvicorn(empty_port, logs, workers)
    try:
        started = wait_ready(project_port, project)
        wait_ready(empty_port, baseline)
        req = urllib.request.Request(f"http://127.0.0.1:{project_port}/get-online-features",
                                     data=one.read_text().splitlines()[0].encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            sample = json.loads(r.read())
        statuses = [s for column in sample["results"] for s in column["statuses"]]
        result = {"workers": workers, "server_start_seconds": started,
                  "response_columns": len(sample["results"]),
                  "present_in_sample": statuses.count("PRESENT"), "values_in_sample": len(statuses)}
        result["one_entity"] = open_loop_profile(project_port, one, duration, requests)
        log(f"rcl serve, 1 entity: {result['one_entity']}")
        result["hundred_entities"] = open_loop_profile(project_port, hundred, duration, requests)
        log(f"rcl serve, 100 entities: {result['hundred_entities']}")
        result["empty"] = open_loop_profile(empty_port, empty, duration, requests)
        log(f"empty endpoint: {result['empty']}")
        return result
    finally:
        stop(project)
        stop(baseline)
        logs.close()
