"""Running the pipeline in process: `run_pipeline(settings, ...)` (tests, benchmarks, `rcl run`)."""

from __future__ import annotations

# Dagster's documented run tags of a single-run backfill over a partition range
# (tests/test_definitions.py checks them against Dagster's own).
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"


def run_pipeline(settings, instance=None, *, partition: str | None = None,
                 partition_range: tuple[str, str] | None = None, job: str = "full_pipeline",
                 log_level: str | None = None, run_id: str | None = None, job_def=None,
                 assets: list[str] | None = None):
    """Execute a job in process (default: full_pipeline over every daily partition, a full
    refresh); returns the Dagster result. `partition` runs one day, `partition_range` a range of
    days in one run (first, last), the way a backfill runs. `log_level` sets the console's
    (default: Dagster's, every event); `run_id` names the run (default: a new id); `job_def` is
    the job when the caller built it already (build_job); `assets` runs only those assets of the
    job (user strings, "online_store/product_features") with their checks, as materializing a
    selection in the UI does."""
    import dagster as dg

    job_def = job_def or build_job(settings, job)
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}} if log_level else None
    selection = [dg.AssetKey.from_user_string(key) for key in assets] if assets else None
    common = {"instance": instance, "raise_on_error": False, "run_config": run_config, "run_id": run_id,
              "asset_selection": selection}
    if partition is not None:
        return job_def.execute_in_process(partition_key=partition, **common)
    return job_def.execute_in_process(tags=partition_range_tags(job_def, partition_range), **common)


def build_job(settings, job: str = "full_pipeline"):
    """The job's definition for these settings, the dbt models parsed from disk (not a manifest
    from an older checkout)."""
    from dagster_project.defs import build_defs
    from dagster_project.defs.project import ensure_manifest
    from dagster_project.pii_salt import with_pii_salt

    settings = with_pii_salt(settings)  # the data dir's own salt when RCL_PII_SALT is unset
    ensure_manifest(settings, refresh=True)
    return build_defs(settings).resolve_job_def(job)


def partition_range_tags(job_def, partition_range: tuple[str, str] | None = None) -> dict[str, str]:
    """Run tags that make one run cover a range of daily partitions (default: all of them,
    which the partitioned assets treat as a full refresh)."""
    if partition_range is None:
        keys = job_def.partitions_def.get_partition_keys()
        partition_range = (keys[0], keys[-1])
    return {PARTITION_RANGE_START_TAG: partition_range[0], PARTITION_RANGE_END_TAG: partition_range[1]}
