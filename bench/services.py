"""Every feature service of a built data dir, historical and online, the way its consumers use it.

    python -m bench.services --data-dir DIR [--calls 300] [--out bench/results/services.json]

Per service: its training set built by its recipe (label rows from the published warehouse,
`build_training_set`, exactly what `rcl training-set --service NAME --labels CONSUMER` runs),
timed from the label rows to the Parquet file and its manifest; and its online vector read through
Feast's SDK (`get_online_features(features=<service>)`, the online store of the data dir's
settings) for one entity (the demo's entity row), `calls` timed reads after 20 untimed ones.
The data dir must have been built (`make demo` or `rcl run`); nothing is written into it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.common import log, percentile


def measure_service(settings, store, service, work: Path, calls: int) -> dict:
    from dagster_project.demo import demo_entity_row
    from dagster_project.feast_ext.training_recipes import (LABEL_QUERIES, build_training_set, label_rows,
                                                          service_version)

    features = sum(len(p.features) for p in service.feature_view_projections)
    entry: dict = {"features": features, "views": len(service.feature_view_projections)}
    consumer, _ = service_version(service.name)
    if consumer in LABEL_QUERIES:
        started = time.perf_counter()
        labels = label_rows(settings, consumer)
        label_seconds = time.perf_counter() - started
        started = time.perf_counter()
        manifest = build_training_set(settings, service.name, labels, work / f"{service.name}.parquet", overwrite=True)
        seconds = time.perf_counter() - started
        entry.update(label_rows=len(labels), label_query_seconds=round(label_seconds, 3),
                     training_set_seconds=round(seconds, 3), training_rows=manifest["rows"],
                     training_rows_per_second=round(manifest["rows"] / seconds) if seconds else None)
    row = demo_entity_row(store, service)
    for _ in range(20):  # untimed: registry cache, connections, on-demand transformations compiled
        store.get_online_features(features=service, entity_rows=[row])
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        answer = store.get_online_features(features=service, entity_rows=[row]).to_dict()
        times.append((time.perf_counter() - started) * 1000)
    entry.update(online_sdk_calls=calls, online_sdk_p50_ms=round(percentile(times, 50), 3),
                 online_sdk_p99_ms=round(percentile(times, 99), 3),
                 online_non_null=sum(1 for k, v in answer.items() if k not in row and v and v[0] is not None))
    return entry


def measure_services(settings, calls: int) -> dict:
    from dagster_project.feast_ext.repo import get_feature_store

    store = get_feature_store(settings)
    results = {}
    with tempfile.TemporaryDirectory(prefix="rcl-bench-services-") as work:
        for service in sorted(store.list_feature_services(), key=lambda s: s.name):
            results[service.name] = measure_service(settings, store, service, Path(work), calls)
            log(f"{service.name}: {results[service.name]}")
    return results


def main(argv: list[str] | None = None) -> int:
    from dagster_project.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m bench.services", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="a built data dir (make demo, rcl run)")
    parser.add_argument("--calls", type=int, default=300, help="timed online reads per service")
    parser.add_argument("--out", type=Path, default=Path("bench/results/services.json"))
    args = parser.parse_args(argv)
    # the deployment's settings (RCL_* variables: Feast project, online store), for this data dir
    settings = Settings.from_env({**os.environ, "RCL_DATA_DIR": str(args.data_dir.resolve())})
    started = time.perf_counter()
    results = measure_services(settings, args.calls)
    report = {"measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
              "online_store": settings.online_store, "services": results,
              "bench_seconds": round(time.perf_counter() - started, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for name, entry in results.items():
        print(f"{name:28} {entry['features']:3} features  training "
              f"{entry.get('training_rows', '-')!s:>7} rows in {entry.get('training_set_seconds', '-')!s:>6} s  "
              f"online p50 {entry['online_sdk_p50_ms']:.2f} ms p99 {entry['online_sdk_p99_ms']:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
