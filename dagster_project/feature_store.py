"""The one translation from feature tables to Feast: applying the feature repo, materializing
feature views into the online store, and opening the store for readers."""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.parquet as pq

from dagster_project.settings import FEATURE_REPO_DIR, Settings

log = logging.getLogger(__name__)

# Feature view name -> the Parquet export (dbt model of the same name) it reads.
FEATURE_VIEWS = ("customer_features", "product_features")


def get_feature_store(settings: Settings):
    from feast import FeatureStore

    settings.export_env()
    return FeatureStore(repo_path=str(FEATURE_REPO_DIR), fs_yaml_file=settings.feast_yaml)


# The repo's modules in import order (later ones import earlier ones).
REPO_MODULES = ("entities", "data_sources", "feature_views", "feature_services")


def apply_feature_repo(settings: Settings) -> str:
    """`feast apply` of feature_repo/, in process (importing feast again in a child process
    would cost ~10 s). Returns Feast's report of the changes."""
    import contextlib
    import importlib
    import io

    from feast.repo_operations import _get_repo_contents, apply_total_with_repo_instance

    settings.feast_dir.mkdir(parents=True, exist_ok=True)
    _forget_registry_of_another_location(settings)
    store = get_feature_store(settings)
    report = io.StringIO()
    # Feast names repo modules relative to the working directory, and data_sources reads the
    # settings when imported: reload so a changed environment is picked up. Steps run one at a
    # time in this process, so changing directory for the call is safe.
    if str(FEATURE_REPO_DIR) not in sys.path:
        sys.path.insert(0, str(FEATURE_REPO_DIR))
    with contextlib.chdir(FEATURE_REPO_DIR), contextlib.redirect_stdout(report):
        for name in REPO_MODULES:
            module = sys.modules.get(name)
            if module is not None and getattr(module, "__file__", "").startswith(str(FEATURE_REPO_DIR)):
                importlib.reload(module)
            else:
                importlib.import_module(name)
        repo = _get_repo_contents(FEATURE_REPO_DIR, store.config.project, store.config)
        apply_total_with_repo_instance(store, store.config.project, store.registry, repo, skip_source_validation=True)
    return report.getvalue()


def _forget_registry_of_another_location(settings: Settings) -> None:
    """A registry records where its online tables live. Applied from a copied or moved Feast
    folder, Feast would tear down the tables at the recorded (original) location as obsolete
    infrastructure: another environment's online store. The folder remembers its own location;
    in a copy the registry is started afresh (the online rows copied along are kept: tables are
    created only if missing)."""
    marker = settings.feast_dir / ".location"
    registry = settings.feast_dir / "registry.db"
    here = str(settings.feast_dir.resolve())
    if registry.exists() and marker.exists() and marker.read_text().strip() != here:
        log.warning("Feast registry in %s was copied from %s: starting a fresh registry", here, marker.read_text().strip())
        registry.unlink()
    elif registry.exists() and not marker.exists():
        log.warning("Feast registry in %s has no recorded location: starting a fresh registry", here)
        registry.unlink()
    marker.write_text(here + "\n")


def feature_table_path(settings: Settings, view_name: str) -> Path:
    return settings.features_dir / f"{view_name}.parquet"


def event_time_range(path: Path) -> tuple[datetime, datetime]:
    """Min and max event_timestamp of a feature table, read from Parquet statistics."""
    import pyarrow.compute as pc

    column = pq.read_table(path, columns=["event_timestamp"]).column("event_timestamp")
    bounds = pc.min_max(column)
    return bounds["min"].as_py(), bounds["max"].as_py()


class OnlineStoreUnavailable(RuntimeError):
    """The online store could not be written after every retry; nothing was committed as materialized."""


# Connection errors of the online store are retried with exponential backoff: attempts and the
# first delay (doubling each time) come from the environment so tests and operators can tune them.
MATERIALIZE_ATTEMPTS = int(os.environ.get("RCL_ONLINE_STORE_ATTEMPTS", "4"))
MATERIALIZE_FIRST_DELAY = float(os.environ.get("RCL_ONLINE_STORE_RETRY_DELAY", "1.0"))


def _redacted(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url


def _connection_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]  # builtins (OSError family)
    try:
        import redis

        errors += [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError]
    except ImportError:  # pragma: no cover - redis is a dependency of the project
        pass
    return tuple(errors)


def _check_online_store(settings: Settings) -> None:
    """Fail before writing anything when the online store does not answer."""
    if settings.online_store == "redis":
        import redis

        client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
        try:
            client.ping()
        finally:
            client.close()


def materialize_view(settings: Settings, view_name: str, *, attempts: int | None = None,
                     first_delay: float | None = None, sleep=time.sleep) -> dict:
    """Load the latest row per entity of one feature view into the online store.

    The window covers the whole table, so a re-run writes the same values again (idempotent).
    Connection errors (e.g. Redis down) are retried with exponential backoff; after the last
    attempt OnlineStoreUnavailable names the view and the store. What a failure leaves behind:
    a failure before the first write (the usual case: the store is checked first) publishes
    nothing; a failure midway leaves the entities written so far with their new, valid values
    (each entity's row is written whole) and the others with their previous values; the
    registry's materialization interval only advances when every row was written, and the
    retry (or the next run) re-writes every entity."""
    attempts = attempts or MATERIALIZE_ATTEMPTS
    delay = MATERIALIZE_FIRST_DELAY if first_delay is None else first_delay
    path = feature_table_path(settings, view_name)
    start, end = event_time_range(path)
    store = get_feature_store(settings)
    retryable = _connection_errors()
    for attempt in range(1, attempts + 1):
        try:
            _check_online_store(settings)
            store.materialize(start_date=start - timedelta(seconds=1), end_date=end + timedelta(seconds=1),
                              feature_views=[view_name])
            break
        except retryable as exc:
            target = _redacted(settings.redis_url) if settings.online_store == "redis" else settings.online_store
            if attempt == attempts:
                raise OnlineStoreUnavailable(
                    f"materializing feature view {view_name!r} failed: online store {target} unreachable after "
                    f"{attempts} attempts ({exc.__class__.__name__}: {exc}); the view's materialization was not "
                    f"recorded and the next run re-writes every entity"
                ) from exc
            log.warning(
                "materializing %s: online store %s unreachable (%s: %s), attempt %d of %d, retrying in %.1fs",
                view_name, target, exc.__class__.__name__, exc, attempt, attempts, delay,
            )
            sleep(delay)
            delay *= 2
    return {"start": start, "end": end, "rows": pq.ParquetFile(path).metadata.num_rows, "attempts": attempt}
