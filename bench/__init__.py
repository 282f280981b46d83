"""Benchmark suite (`make bench`, `python -m bench --scale small|standard`).

Every figure is a ratio against a baseline measured in the same run on the same data (the
machine is shared, so absolute times drift), the median of several runs. Results go to
bench/results/latest.json and the table in docs/benchmarks.md. Modules:

    common     temp settings, timing, medians, machine facts, process-tree peak RSS
    report     latest.json and the docs table (writers)
    identity   identity-resolution precision/recall against the generator's ground truth
    baseline   the hand-written one-connection DuckDB SQL script (from dbt's compiled SQL)
    build      build vs SQL, Dagster vs plain dbt, peak RSS
    offline    Feast historical retrieval vs DuckDB ASOF JOIN; materialize vs raw Redis
    online     Feast SDK and HTTP feature server latency and throughput (Redis)
    loadgen    the load generator process for the HTTP figures
    empty_app  the empty-endpoint baseline app
"""
