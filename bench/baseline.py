"""The hand-written baseline of build_vs_sql_ratio: one SQL script, run in one DuckDB connection,
that loads the landing files directly and computes the same models and feature files.

What the script is (and is not):

* Load: one `insert ... by name select` per source entity, reading every landing file of the
  entity in one typed scan (`read_csv` with the contract's column types and no sniffing, or
  `read_json` for JSON lines), `filename` as `_source_file`, the record's position in its file
  as `_source_line`. Unparseable rows are skipped (`ignore_errors`). The raw tables are created
  with the pipeline's own DDL (`dagster_project.ingestion.raw_table_ddl`), so downstream SQL sees
  the same columns. No per-row contract checks (required values, accepted values, ranges,
  timestamp format), no quarantine tables, no reconciliation counts.
* Models: dbt's compiled SQL of every model (`dbt compile` into a temp target, against an empty
  warehouse, so incremental models take their first-build branch), in dependency order, as
  `create view` (staging), `create table ... as` (intermediate, marts, incremental models) and
  `copy (...) to '<features>/<model>.parquet'` for the external feature models (plus a view over
  the file, as dbt-duckdb makes). No dbt tests, no Great Expectations, no Dagster, no dbt
  process, no manifest, no run_results.

Writing the script is not timed (it stands for what a person would write by hand once); running
it is. `python -m bench.baseline --data-dir DIR` prints the script for DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import deque
from pathlib import Path

from dagster_project.contracts import CONTRACTS, SourceEntity
from dagster_project.settings import DBT_PROJECT_DIR, Settings


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _read_type(column) -> str:
    # timestamps carry an offset in the files: parse as timestamptz, store as UTC timestamp
    return "TIMESTAMPTZ" if column.is_timestamp else column.type


def load_statement(contract: SourceEntity, landing_dir: Path) -> str:
    from dagster_project import ingestion

    glob = _lit(contract.landing_glob(str(landing_dir)))
    columns = "{" + ", ".join(f"{_lit(c.name)}: {_lit(_read_type(c))}" for c in contract.columns) + "}"
    if contract.format == "csv":
        scan = (f"read_csv({glob}, columns = {columns}, header = true, auto_detect = false, delim = ',', "
                f"quote = '\"', escape = '\"', filename = true, ignore_errors = true, union_by_name = false)")
        first_line = 2  # line 1 is the header
    else:
        scan = (f"read_json({glob}, columns = {columns}, format = 'newline_delimited', filename = true, "
                f"ignore_errors = true)")
        first_line = 1
    select = ", ".join(
        (f"cast({_q(c.name)} as timestamp) as {_q(c.name)}" if c.is_timestamp else _q(c.name)) for c in contract.columns
    )
    ddl = ingestion.raw_table_ddl(contract, contract.raw_table)
    return (
        f"{ddl};\n"
        f"insert into {contract.raw_table} by name\n"
        f"select {select}, filename as _source_file,\n"
        f"       row_number() over (partition by filename) + {first_line - 1} as _source_line,\n"
        f"       now()::timestamp as _loaded_at\n"
        f"from {scan};"
    )


def compile_models(work_dir: Path, env: dict | None = None) -> dict:
    """`dbt compile` into work_dir/target against an empty warehouse work_dir/warehouse.duckdb.
    Returns the manifest's model nodes."""
    work_dir = Path(work_dir)
    target = work_dir / "target"
    env = dict(env or {**os.environ, **Settings.from_env().env()})  # dbt reads every setting
    env["RCL_WAREHOUSE_PATH"] = str(work_dir / "warehouse.duckdb")
    env["RCL_FEATURES_DIR"] = str(work_dir / "features")
    (work_dir / "features").mkdir(parents=True, exist_ok=True)
    dbt = str(Path(sys.executable).with_name("dbt"))
    subprocess.run(
        [dbt, "compile", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str(target), "--select", "resource_type:model", "--quiet"],
        env=env, check=True, capture_output=True, text=True,
    )
    manifest = json.loads((target / "manifest.json").read_text())
    for path in (work_dir / "warehouse.duckdb", work_dir / "warehouse.duckdb.wal"):
        path.unlink(missing_ok=True)
    return {k: v for k, v in manifest["nodes"].items() if v["resource_type"] == "model"}


def dependency_order(models: dict) -> list[str]:
    """Topological order (Kahn), ties by unique_id so the script is stable."""
    deps = {k: [d for d in v["depends_on"]["nodes"] if d in models] for k, v in models.items()}
    children: dict[str, list[str]] = {k: [] for k in models}
    for k, ds in deps.items():
        for d in ds:
            children[d].append(k)
    remaining = {k: len(ds) for k, ds in deps.items()}
    ready = deque(sorted(k for k, n in remaining.items() if n == 0))
    order = []
    while ready:
        node = ready.popleft()
        order.append(node)
        for child in sorted(children[node]):
            remaining[child] -= 1
            if remaining[child] == 0:
                ready.append(child)
    if len(order) != len(models):
        raise ValueError("dependency cycle among dbt models")
    return order


def model_statement(node: dict, features_dir: Path) -> str:
    schema, name = node["schema"], node.get("alias") or node["name"]
    relation = f"{_q(schema)}.{_q(name)}"
    sql = node["compiled_code"].strip().rstrip(";")
    materialized = node["config"]["materialized"]
    if materialized == "view":
        return f"create or replace view {relation} as (\n{sql}\n);"
    if materialized in ("table", "incremental"):
        return f"create or replace table {relation} as (\n{sql}\n);"
    if materialized == "external":
        path = _lit(str(Path(features_dir) / f"{name}.parquet"))
        return (f"copy (\n{sql}\n) to {path} (format parquet);\n"
                f"create or replace view {relation} as select * from read_parquet({path});")
    if materialized == "ephemeral":
        return ""  # inlined by dbt into its users' compiled SQL
    raise ValueError(f"{node['unique_id']}: materialization {materialized!r} not handled by the baseline")


def build_script(models: dict, landing_dir: Path, features_dir: Path) -> str:
    order = dependency_order(models)
    schemas = sorted({"raw", *(models[k]["schema"] for k in order)})
    parts = [
        "-- bench baseline: direct typed load + dbt's compiled model SQL, one connection (see bench/baseline.py)",
        "set TimeZone = 'UTC';",
        "set enable_progress_bar = false;",
        *(f"create schema if not exists {_q(s)};" for s in schemas),
        *(load_statement(c, landing_dir) for c in CONTRACTS),
    ]
    for key in order:
        statement = model_statement(models[key], features_dir)
        if statement:
            parts.append(f"-- {key}\n{statement}")
    return "\n\n".join(parts) + "\n"


def run_script(script: str, warehouse_path: Path, features_dir: Path) -> None:
    """Run the script in one connection on a fresh warehouse file."""
    import duckdb

    warehouse_path = Path(warehouse_path)
    for path in (warehouse_path, Path(str(warehouse_path) + ".wal")):
        path.unlink(missing_ok=True)
    shutil.rmtree(features_dir, ignore_errors=True)
    Path(features_dir).mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(warehouse_path))
    try:
        conn.execute(script)
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, type=Path, help="data dir with landing/")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        models = compile_models(Path(tmp))
    work = args.data_dir / "baseline"
    print(build_script(models, args.data_dir / "landing", work / "features"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
