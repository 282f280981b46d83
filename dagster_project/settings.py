"""One place that knows paths and settings. Everything is driven by environment variables so
that one setting moves the whole project (Dagster resources, the dbt profile and the Feast
feature_store.yaml read the same variables).

RCL_DATA_DIR        root of all data files (default: <repo>/data)
RCL_LANDING_DIR     where source systems drop files (default: $RCL_DATA_DIR/landing)
RCL_WAREHOUSE_PATH  the pipeline's working DuckDB file (default: $RCL_DATA_DIR/work/warehouse.duckdb)
RCL_PUBLISHED_WAREHOUSE  what analysts open: a link to the last complete build, swapped
                    atomically at the end of each run (default: $RCL_DATA_DIR/warehouse.duckdb)
RCL_FEATURES_DIR    Parquet exports read by Feast (default: $RCL_DATA_DIR/features)
RCL_FEAST_DIR       Feast registry and SQLite online store (default: $RCL_DATA_DIR/feast)
RCL_ONLINE_STORE    sqlite (default) or redis
REDIS_URL           Redis for the online store when RCL_ONLINE_STORE=redis
RCL_FEAST_PROJECT   Feast project name, also the key namespace in Redis (default: retail_context)
RCL_PARTITIONS_START  first day of the daily partitions (default: the earliest delivery day found in
                    the landing folder, else 2025-11-01; set it in production, where old files get archived)
RCL_LATE_DATA_LOOKBACK_DAYS  days before a partition that its run reloads and recomputes, for
                    files delivered again or late (default: 2)
RCL_EVENT_HORIZON_DAYS  how many days before its file's delivery day an event time may lie before
                    ingestion quarantines it (default: 3650; see dagster_project/ingestion/load.py)
RCL_EXPECTATIONS_DIR  the deployment's Great Expectations baselines and overrides of the feature
                    tables (default: $RCL_DATA_DIR/expectations; see expectations/profile.py)
RCL_DUCKDB_MEMORY_LIMIT  memory DuckDB may use per connection (pipeline and dbt), beyond which it
                    spills to disk (default: 2GB; DuckDB's own default is 80 % of the machine)

What the deployment's data means (no built-in retailer: see docs/mapping_guide.md):
RCL_PHONE_COUNTRY_CODE  country calling code of phones written in national form (e.g. 49, 1);
                    unset: national-form phones are not used for identity matching
RCL_PHONE_TRUNK_PREFIX  trunk prefix a national number starts with (default 0; 1 in North America)
RCL_PRICES_INCLUDE_TAX  whether line prices, subtotals and list prices include tax (default true)
RCL_SHOP_DOMAINS    the shop's own web domains, comma-separated: referrers there are internal
RCL_IDENTITY_MAX_ACCOUNTS_PER_EMAIL  an email used by more OMS accounts than this is a shared
                    (family) address and links none of them (default 2); the other identity guards
                    are RCL_IDENTITY_MAX_ACCOUNTS_PER_IDENTIFIER, ..._PER_COOKIE, ..._EMAILS_PER_IDENTIFIER
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt"
FEATURE_REPO_DIR = REPO_ROOT / "feature_repo"


DEFAULT_PARTITIONS_START = "2025-11-01"


def first_delivery_day(landing_dir: Path) -> str | None:
    """The earliest <YYYY-MM-DD>.<ext> file name under landing/<system>/<entity>/ (None if none).
    Partitions that start before the first delivery would only be empty runs, and a full
    refresh records one materialization per partition per asset."""
    days = []
    for folder in Path(landing_dir).glob("*/*"):
        # the name's first ten characters: `2026-03-01.csv.gz` has the stem `2026-03-01.csv`
        names = sorted(p.name[:10] for p in folder.glob("????-??-??.*") if not p.name.startswith("."))
        if names:
            days.append(names[0])
    return min(days) if days else None


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    landing_dir: Path
    warehouse_path: Path
    features_dir: Path
    feast_dir: Path
    online_store: str
    redis_url: str
    feast_project: str
    # None: $data_dir/warehouse.duckdb (see published_warehouse)
    published_warehouse_path: Path | None = None
    # Daily partitions: the first day, and how many days before a partition its run reloads
    partitions_start: str = DEFAULT_PARTITIONS_START
    late_data_lookback_days: int = 2
    duckdb_memory_limit: str = "2GB"
    # What the deployment's data means (read by dbt through the environment)
    phone_country_code: str = ""
    phone_trunk_prefix: str = "0"
    prices_include_tax: bool = True
    shop_domains: str = ""
    event_horizon_days: int = 3650
    # None: $data_dir/expectations (see expectations_path)
    expectations_dir: Path | None = None

    @classmethod
    def from_env(cls) -> "Settings":
        data_dir = Path(os.environ.get("RCL_DATA_DIR", REPO_ROOT / "data")).resolve()
        online_store = os.environ.get("RCL_ONLINE_STORE", "sqlite")
        if online_store not in ("sqlite", "redis"):
            raise ValueError(f"RCL_ONLINE_STORE must be 'sqlite' or 'redis', not {online_store!r}")
        return cls(
            data_dir=data_dir,
            landing_dir=Path(os.environ.get("RCL_LANDING_DIR", data_dir / "landing")).resolve(),
            warehouse_path=Path(os.environ.get("RCL_WAREHOUSE_PATH", data_dir / "work" / "warehouse.duckdb")).resolve(),
            features_dir=Path(os.environ.get("RCL_FEATURES_DIR", data_dir / "features")).resolve(),
            feast_dir=Path(os.environ.get("RCL_FEAST_DIR", data_dir / "feast")).resolve(),
            online_store=online_store,
            redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"),
            feast_project=os.environ.get("RCL_FEAST_PROJECT", "retail_context"),
            published_warehouse_path=Path(
                os.environ.get("RCL_PUBLISHED_WAREHOUSE", data_dir / "warehouse.duckdb")
            ).absolute(),
            partitions_start=os.environ.get("RCL_PARTITIONS_START")
            or first_delivery_day(Path(os.environ.get("RCL_LANDING_DIR", data_dir / "landing")))
            or DEFAULT_PARTITIONS_START,
            late_data_lookback_days=int(os.environ.get("RCL_LATE_DATA_LOOKBACK_DAYS", "2")),
            duckdb_memory_limit=os.environ.get("RCL_DUCKDB_MEMORY_LIMIT", "2GB"),
            **deployment_settings_from_env(),
            event_horizon_days=int(os.environ.get("RCL_EVENT_HORIZON_DAYS", "3650")),
            expectations_dir=Path(os.environ["RCL_EXPECTATIONS_DIR"]).resolve() if os.environ.get("RCL_EXPECTATIONS_DIR") else None,
        )

    @classmethod
    def for_data_dir(cls, data_dir: Path, **overrides) -> "Settings":
        """Every path under one data directory, the defaults' layout (tests, benchmarks,
        scratch environments); keyword arguments override single fields."""
        data_dir = Path(data_dir)
        values = dict(
            **deployment_settings_from_env(),
            data_dir=data_dir,
            landing_dir=data_dir / "landing",
            warehouse_path=data_dir / "work" / "warehouse.duckdb",
            features_dir=data_dir / "features",
            feast_dir=data_dir / "feast",
            online_store="sqlite",
            redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"),
            feast_project="retail_context",
            published_warehouse_path=data_dir / "warehouse.duckdb",
        )
        values.update(overrides)
        values.setdefault("partitions_start", first_delivery_day(values["landing_dir"]) or DEFAULT_PARTITIONS_START)
        return cls(**values)

    @property
    def published_warehouse(self) -> Path:
        """The analysts' path: a symlink to the last published complete build."""
        return self.published_warehouse_path or self.data_dir / "warehouse.duckdb"

    @property
    def expectations_path(self) -> Path:
        """The deployment's feature-table baselines and overrides (expectations/profile.py)."""
        return self.expectations_dir or self.data_dir / "expectations"

    @property
    def feast_yaml(self) -> Path:
        name = "feature_store.yaml" if self.online_store == "sqlite" else "feature_store.redis.yaml"
        return FEATURE_REPO_DIR / name

    @property
    def feast_redis_connection(self) -> str:
        """REDIS_URL (redis://host:port/db) in the form Feast's Redis store takes (host:port,db=N)."""
        url = urlparse(self.redis_url)
        db = (url.path or "/0").lstrip("/") or "0"
        parts = [f"{url.hostname or '127.0.0.1'}:{url.port or 6379}", f"db={db}"]
        if url.password:
            parts.append(f"password={url.password}")
        return ",".join(parts)

    def export_env(self) -> None:
        """Write the resolved settings back to the environment so that child processes (dbt,
        Feast) and configuration files that read ${VARS} see the same values. Also creates the
        working database's folder (DuckDB creates the file, not its folder)."""
        self.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
        os.environ.update(
            RCL_DATA_DIR=str(self.data_dir),
            RCL_LANDING_DIR=str(self.landing_dir),
            RCL_WAREHOUSE_PATH=str(self.warehouse_path),
            RCL_PUBLISHED_WAREHOUSE=str(self.published_warehouse),
            RCL_FEATURES_DIR=str(self.features_dir),
            RCL_FEAST_DIR=str(self.feast_dir),
            RCL_ONLINE_STORE=self.online_store,
            REDIS_URL=self.redis_url,
            RCL_FEAST_PROJECT=self.feast_project,
            RCL_FEAST_REDIS_CONNECTION=self.feast_redis_connection,
            RCL_LATE_DATA_LOOKBACK_DAYS=str(self.late_data_lookback_days),
            RCL_DUCKDB_MEMORY_LIMIT=self.duckdb_memory_limit,
            RCL_PHONE_COUNTRY_CODE=self.phone_country_code,
            RCL_PHONE_TRUNK_PREFIX=self.phone_trunk_prefix,
            RCL_PRICES_INCLUDE_TAX="true" if self.prices_include_tax else "false",
            RCL_SHOP_DOMAINS=self.shop_domains,
            RCL_EVENT_HORIZON_DAYS=str(self.event_horizon_days),
            DBT_PROFILES_DIR=str(DBT_PROJECT_DIR),
        )


def _truthy(value: str) -> bool:
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, not {value!r}")


def deployment_settings_from_env() -> dict:
    """What the deployment's data means, from the environment (defaults: nothing assumed)."""
    code = os.environ.get("RCL_PHONE_COUNTRY_CODE", "").strip().lstrip("+")
    if code and not code.isdigit():
        raise ValueError(f"RCL_PHONE_COUNTRY_CODE must be a country calling code such as 49 or 1, not {code!r}")
    return dict(
        phone_country_code=code,
        phone_trunk_prefix=os.environ.get("RCL_PHONE_TRUNK_PREFIX", "0").strip(),
        prices_include_tax=_truthy(os.environ.get("RCL_PRICES_INCLUDE_TAX", "true")),
        shop_domains=os.environ.get("RCL_SHOP_DOMAINS", "").strip(),
    )


def get_settings() -> Settings:
    settings = Settings.from_env()
    settings.export_env()
    return settings
