"""Load generator for the HTTP figures: a separate process on loopback, bounded in requests and
time. N threads, each with its own keep-alive http.client connection, send POST bodies (one per
line of --body-file, cycled) back to back (closed loop) until `--requests` in total were sent or `--duration` seconds passed.
Prints one JSON object: requests, errors, seconds, rps, p50_ms, p90_ms, p99_ms, max_ms.

    python -m bench.loadgen --port P --path /get-online-features --body-file F --concurrency 4 \
        --requests 2000 --duration 5
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time

from bench.common import percentile


def summarize(latencies_s: list[float], errors: int, seconds: float) -> dict:
    """Summary of one load level; latencies in seconds, output in ms."""
    ms = [x * 1000.0 for x in latencies_s]
    return {
        "requests": len(ms),
        "errors": errors,
        "seconds": seconds,
        "rps": len(ms) / seconds if seconds > 0 else 0.0,
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else None,
    }


def run_load(host: str, port: int, path: str, bodies: list[bytes], concurrency: int, max_requests: int,
             duration: float, warmup: int = 20) -> dict:
    headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
    lock = threading.Lock()
    counter = {"issued": 0}
    latencies: list[float] = []
    errors = [0]
    deadline = [0.0]
    start_barrier = threading.Barrier(concurrency + 1)

    def take() -> bool:
        with lock:
            if counter["issued"] >= max_requests or time.perf_counter() >= deadline[0]:
                return False
            counter["issued"] += 1
            return True

    def worker(offset: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        local, local_errors = [], 0
        n = offset
        for _ in range(warmup):  # connection set-up and first-request costs stay out
            try:
                conn.request("POST", path, body=bodies[0], headers=headers)
                conn.getresponse().read()
            except Exception:
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
        start_barrier.wait()
        while take():
            body = bodies[n % len(bodies)]
            n += 1
            t = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    local_errors += 1
                    continue
            except Exception:
                local_errors += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
                continue
            local.append(time.perf_counter() - t)
        conn.close()
        with lock:
            latencies.extend(local)
            errors[0] += local_errors

    threads = [threading.Thread(target=worker, args=(i * 7,), daemon=True) for i in range(concurrency)]
    for th in threads:
        th.start()
    deadline[0] = time.perf_counter() + 3600  # set for real once everyone is warm
    start_barrier.wait()
    started = time.perf_counter()
    deadline[0] = started + duration
    for th in threads:
        th.join(timeout=duration + 30)
    seconds = time.perf_counter() - started
    result = summarize(latencies, errors[0], seconds)
    result["concurrency"] = concurrency
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/get-online-features")
    parser.add_argument("--body-file", required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--requests", type=int, default=2000, help="upper bound on requests")
    parser.add_argument("--duration", type=float, default=5.0, help="upper bound on seconds")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per connection")
    args = parser.parse_args(argv)
    with open(args.body_file, "rb") as f:
        bodies = [line.strip() for line in f if line.strip()]
    result = run_load(args.host, args.port, args.path, bodies, args.concurrency, args.requests,
                      args.duration, args.warmup)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
