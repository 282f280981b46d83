"""`make demo`: generate the sample shop, materialize every asset through Dagster, and read a few
online feature vectors back through Feast.

    python -m dagster_project.demo [--scale small] [--seed 42] [--keep-data]
    python -m dagster_project.demo --prepare-only     # only parse the dbt project (for `make dev`)
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from dagster_project.settings import REPO_ROOT, Settings

log = logging.getLogger("demo")


def print_online_features(settings, customers: int = 3, products: int = 3) -> None:
    import duckdb
    import pandas as pd

    from dagster_project.feast_ext.feature_tables import feature_table_path
    from dagster_project.feast_ext.repo import get_feature_store

    customer_ids = [
        r[0]
        for r in duckdb.sql(
            f"select customer_id from read_parquet('{feature_table_path(settings, 'customer_features')}') "
            f"group by customer_id order by max(orders_lifetime) desc, customer_id limit {customers}"
        ).fetchall()
    ]
    product_ids = [
        r[0]
        for r in duckdb.sql(
            f"select product_id from read_parquet('{feature_table_path(settings, 'product_features')}') "
            f"group by product_id order by max(units_sold_30d) desc, product_id limit {products}"
        ).fetchall()
    ]
    store = get_feature_store(settings)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 30)
    customer_vectors = store.get_online_features(
        features=store.get_feature_service("personalization_v1"),
        entity_rows=[{"customer_id": c, "product_id": p} for c, p in zip(customer_ids, product_ids)],
    ).to_df()
    print("\nOnline features, service personalization_v1 (customer x candidate product):")
    print(customer_vectors.T.to_string())
    product_vectors = store.get_online_features(
        features=store.get_feature_service("product_content_v1"),
        entity_rows=[{"product_id": p} for p in product_ids],
    ).to_df()
    print("\nOnline features, service product_content_v1:")
    print(product_vectors.T.to_string())


def sample_world_settings(world: str = "default", environ=None) -> Settings:
    """The configured settings with the generated world's deployment settings (phone numbering,
    the shop's domains, ...) wherever the environment does not set them itself."""
    from dataclasses import replace

    from dagster_project.sample_data.worlds import world_settings

    env = os.environ if environ is None else environ
    chosen = {k for k in world_settings(world) if env.get(f"RCL_{k.upper()}")}
    return replace(Settings.from_env(env), **{k: v for k, v in world_settings(world).items() if k not in chosen})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="small", help="sample size: small (default), standard, or a multiplier")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep-data", action="store_true", help="reuse existing landing files")
    parser.add_argument("--prepare-only", action="store_true", help="only parse the dbt project")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("great_expectations", "feast.infra.registry"):  # import-time and cache chatter
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from dataclasses import replace

    settings = sample_world_settings()
    if args.prepare_only:
        from dagster_project.defs.project import ensure_manifest

        ensure_manifest(settings, refresh=True)
        return 0

    started = time.perf_counter()
    if not (args.keep_data and settings.landing_dir.exists()):
        from dagster_project.sample_data.generator import generate

        scale = args.scale if args.scale in ("small", "standard") else float(args.scale)
        summary = generate(settings.landing_dir, scale=scale, seed=args.seed)
        log.info("generated sample data in %.1fs: %s", time.perf_counter() - started, summary)
        if not os.environ.get("RCL_PARTITIONS_START"):
            # the partitions start at the first delivery of the files just written
            from dagster_project.settings import first_delivery_day

            settings = replace(settings, partitions_start=first_delivery_day(settings.landing_dir) or settings.partitions_start)

    from dagster import DagsterInstance

    # Dagster's own setting, not ours: the demo's runs show up in `make dev` (same instance folder)
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / ".dagster_home"))
    os.makedirs(os.environ["DAGSTER_HOME"], exist_ok=True)
    # the same code path as `rcl run` on a retailer's own landing folder
    from dagster_project.cli import EXIT_OK, run

    summary = run(settings, instance=DagsterInstance.get())
    print(summary.render())
    if summary.exit_code != EXIT_OK:
        print("The pipeline did not complete; open the Dagster UI (make dev) for the run's logs.", file=sys.stderr)
        return summary.exit_code

    print_online_features(settings)
    print(
        f"\nDone in {time.perf_counter() - started:.0f}s.\n"
        f"Warehouse for analysts (the published copy, readable while the pipeline runs): "
        f"duckdb -readonly {settings.published_warehouse}\n"
        f"Dagster UI: make dev  ->  http://127.0.0.1:3000"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
