"""One place that knows paths and settings, and the one place that holds each default.

`Settings.from_env(environ)` reads the RCL_* variables (the table in README.md, Configuration)
and writes nothing; `settings.env()` is what child processes (dbt, Feast, our own commands)
are given. Design: docs/adr/configuration-as-resources.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt"
FEATURE_REPO_DIR = REPO_ROOT / "feature_repo"


DEFAULT_PARTITIONS_START = "2025-11-01"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"
DEFAULT_FEAST_PROJECT = "retail_context"
# Salts of email and phone hashes that are public (an earlier built-in default, the tests') or
# too short to resist a dictionary of emails: refused under RCL_PROFILE=production. There is no
# built-in salt: without RCL_PII_SALT a run uses the data dir's own random one
# (dagster_project/pii_salt.py, docs/privacy.md "Salts and pseudonyms").
KNOWN_DEMO_PII_SALTS = frozenset({"retail-context-dev-salt", "retail-context-test-salt", "unit-test-salt", "test-salt"})
MIN_PII_SALT_LENGTH = 16
PROFILES = ("development", "production")
# What serving does with a customer whose consent for a purpose was never recorded (docs/privacy.md, "Consent")
CONSENT_NEVER_RECORDED = ("not_withdrawn", "withdrawn")

# Settings field -> the environment variable that sets it (the resource's fields and dbt's
# env_var() use the same names).
ENV_VARIABLES = {
    "data_dir": "RCL_DATA_DIR",
    "landing_dir": "RCL_LANDING_DIR",
    "warehouse_path": "RCL_WAREHOUSE_PATH",
    "published_warehouse_path": "RCL_PUBLISHED_WAREHOUSE",
    "features_dir": "RCL_FEATURES_DIR",
    "feast_dir": "RCL_FEAST_DIR",
    "online_store": "RCL_ONLINE_STORE",
    "redis_url": "REDIS_URL",
    "feast_project": "RCL_FEAST_PROJECT",
    "partitions_start": "RCL_PARTITIONS_START",
    "partitions_end": "RCL_PARTITIONS_END",
    "late_data_lookback_days": "RCL_LATE_DATA_LOOKBACK_DAYS",
    "duckdb_memory_limit": "RCL_DUCKDB_MEMORY_LIMIT",
    "phone_country_code": "RCL_PHONE_COUNTRY_CODE",
    "phone_trunk_prefix": "RCL_PHONE_TRUNK_PREFIX",
    "prices_include_tax": "RCL_PRICES_INCLUDE_TAX",
    "shop_domains": "RCL_SHOP_DOMAINS",
    "event_horizon_days": "RCL_EVENT_HORIZON_DAYS",
    "expectations_dir": "RCL_EXPECTATIONS_DIR",
    "pii_salt": "RCL_PII_SALT",
    "profile": "RCL_PROFILE",
    "consent_never_recorded": "RCL_CONSENT_NEVER_RECORDED",
    "identity_max_accounts_per_identifier": "RCL_IDENTITY_MAX_ACCOUNTS_PER_IDENTIFIER",
    "identity_max_emails_per_identifier": "RCL_IDENTITY_MAX_EMAILS_PER_IDENTIFIER",
    "identity_max_accounts_per_cookie": "RCL_IDENTITY_MAX_ACCOUNTS_PER_COOKIE",
    "identity_max_accounts_per_email": "RCL_IDENTITY_MAX_ACCOUNTS_PER_EMAIL",
    "max_orphan_rate": "RCL_MAX_ORPHAN_RATE",
    "max_quarantine_rate": "RCL_MAX_QUARANTINE_RATE",
    "freshness_raw_hours": "RCL_FRESHNESS_RAW_HOURS",
    "freshness_marts_hours": "RCL_FRESHNESS_MARTS_HOURS",
    "freshness_features_hours": "RCL_FRESHNESS_FEATURES_HOURS",
    "freshness_online_hours": "RCL_FRESHNESS_ONLINE_HOURS",
    "freshness_fail_after_hours": "RCL_FRESHNESS_FAIL_AFTER_HOURS",
    "alert_webhook_url": "RCL_ALERT_WEBHOOK_URL",
}


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


def last_delivery_day(landing_dir: Path) -> str | None:
    """The latest <YYYY-MM-DD>.<ext> file name under landing/<system>/<entity>/ (None if none):
    the last partition of a landing folder that receives no further deliveries (the sample shop)."""
    days = [p.name[:10] for p in Path(landing_dir).glob("*/*/????-??-??.*") if not p.name.startswith(".")]
    return max(days) if days else None


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
    # the last partition (a day, inclusive); None: a new partition every day (a live deployment)
    partitions_end: str | None = None
    late_data_lookback_days: int = 2
    duckdb_memory_limit: str = "2GB"
    # What the deployment's data means (docs/mapping_guide.md); no retailer is built in
    phone_country_code: str = ""
    phone_trunk_prefix: str = "0"
    prices_include_tax: bool = True
    shop_domains: str = ""
    # how many days before its file's delivery day an event time may lie (ingestion/load.py)
    event_horizon_days: int = 3650
    # None: $data_dir/expectations (see expectations_path)
    expectations_dir: Path | None = None
    # None: the data dir's own salt, created by the first run that needs it (pii_salt.py)
    pii_salt: str | None = None
    # "production" refuses a known demo salt or a short one
    profile: str = "development"
    # a customer whose consent for a purpose was never recorded: "not_withdrawn" (served; the
    # CRM records an opt-out, and no record means none was given) or "withdrawn" (withheld)
    consent_never_recorded: str = "not_withdrawn"
    # Over-merge guards of identity stitching: an identifier linked to more accounts or emails
    # than this (a store kiosk, a family laptop, a shared address) links nobody.
    identity_max_accounts_per_identifier: int = 2
    identity_max_emails_per_identifier: int = 3
    identity_max_accounts_per_cookie: int = 1
    identity_max_accounts_per_email: int = 2
    # Share of a kind of rows whose parent is unknown (audit.orphan_rates) above which
    # orphan_rate_within_limit fails; share of quarantined rows above which an ingestion check fails.
    max_orphan_rate: float = 0.05
    max_quarantine_rate: float = 0.05
    # How old each layer's last materialization may be before its freshness policy warns, in
    # hours (docs/operations.md): a daily batch lands once a day, so a day plus the time the
    # nightly run takes to reach the layer. It fails `freshness_fail_after_hours` later (a missed day).
    freshness_raw_hours: float = 26.0
    freshness_marts_hours: float = 28.0
    freshness_features_hours: float = 28.0
    freshness_online_hours: float = 30.0
    freshness_fail_after_hours: float = 24.0
    # Where the run-failure sensor POSTs its JSON alert (empty: the failure is only logged)
    alert_webhook_url: str = ""

    def __post_init__(self) -> None:
        check_pii_salt(self.pii_salt, self.profile)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """The settings the variables in `environ` (default: os.environ) give; reads only."""
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("RCL_DATA_DIR", REPO_ROOT / "data")).resolve()
        online_store = env.get("RCL_ONLINE_STORE", "sqlite")
        if online_store not in ("sqlite", "redis"):
            raise ValueError(f"RCL_ONLINE_STORE must be 'sqlite' or 'redis', not {online_store!r}")
        landing_dir = Path(env.get("RCL_LANDING_DIR", data_dir / "landing")).resolve()
        return cls(
            data_dir=data_dir,
            landing_dir=landing_dir,
            warehouse_path=Path(env.get("RCL_WAREHOUSE_PATH", data_dir / "work" / "warehouse.duckdb")).resolve(),
            features_dir=Path(env.get("RCL_FEATURES_DIR", data_dir / "features")).resolve(),
            feast_dir=Path(env.get("RCL_FEAST_DIR", data_dir / "feast")).resolve(),
            online_store=online_store,
            redis_url=env.get("REDIS_URL", DEFAULT_REDIS_URL),
            feast_project=env.get("RCL_FEAST_PROJECT", DEFAULT_FEAST_PROJECT),
            # absolute, not resolved: the path is a link swapped at every publish
            published_warehouse_path=Path(env.get("RCL_PUBLISHED_WAREHOUSE", data_dir / "warehouse.duckdb")).absolute(),
            partitions_start=env.get("RCL_PARTITIONS_START") or first_delivery_day(landing_dir) or DEFAULT_PARTITIONS_START,
            partitions_end=env.get("RCL_PARTITIONS_END") or None,
            late_data_lookback_days=int(env.get("RCL_LATE_DATA_LOOKBACK_DAYS", cls.late_data_lookback_days)),
            duckdb_memory_limit=env.get("RCL_DUCKDB_MEMORY_LIMIT", cls.duckdb_memory_limit),
            event_horizon_days=int(env.get("RCL_EVENT_HORIZON_DAYS", cls.event_horizon_days)),
            expectations_dir=Path(env["RCL_EXPECTATIONS_DIR"]).resolve() if env.get("RCL_EXPECTATIONS_DIR") else None,
            **deployment_settings_from_env(env),
            **operations_settings_from_env(env),
        )

    @classmethod
    def for_data_dir(cls, data_dir: Path, **overrides) -> "Settings":
        """Every path under one data directory, the defaults' layout (tests, benchmarks,
        scratch environments); keyword arguments override single fields. The deployment's
        meaning settings and REDIS_URL still come from the environment."""
        data_dir = Path(data_dir)
        values = dict(
            **deployment_settings_from_env(),
            **operations_settings_from_env(),
            data_dir=data_dir,
            landing_dir=data_dir / "landing",
            warehouse_path=data_dir / "work" / "warehouse.duckdb",
            features_dir=data_dir / "features",
            feast_dir=data_dir / "feast",
            online_store="sqlite",
            redis_url=os.environ.get("REDIS_URL", DEFAULT_REDIS_URL),
            feast_project=DEFAULT_FEAST_PROJECT,
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
    def feast_redis_connection(self) -> str:
        """REDIS_URL (redis://host:port/db) in the form Feast's Redis store takes (host:port,db=N)."""
        url = urlparse(self.redis_url)
        db = (url.path or "/0").lstrip("/") or "0"
        parts = [f"{url.hostname or '127.0.0.1'}:{url.port or 6379}", f"db={db}"]
        if url.password:
            parts.append(f"password={url.password}")
        return ",".join(parts)

    def env(self) -> dict[str, str]:
        """The variables a child process (dbt, Feast, `rcl`) needs to see these settings:
        `Settings.from_env({**os.environ, **settings.env()})` gives them back. Pure: pass it as
        the child's environment, e.g. `subprocess.run(..., env={**os.environ, **settings.env()})`.
        The partition start is left out: a child computes it from the landing folder it reads,
        unless RCL_PARTITIONS_START is set."""
        values = {
            name: _env_value(getattr(self, field))
            for field, name in ENV_VARIABLES.items()
            if field not in ("partitions_start", "partitions_end", "published_warehouse_path", "expectations_dir")
        }
        if self.partitions_end is not None:
            values["RCL_PARTITIONS_END"] = self.partitions_end
        values["RCL_PUBLISHED_WAREHOUSE"] = str(self.published_warehouse)
        if self.expectations_dir is not None:
            values["RCL_EXPECTATIONS_DIR"] = str(self.expectations_dir)
        values["RCL_FEAST_REDIS_CONNECTION"] = self.feast_redis_connection
        values["DBT_PROFILES_DIR"] = str(DBT_PROJECT_DIR)
        return values


def check_pii_salt(salt: str | None, profile: str) -> None:
    """Refuse, under the production profile, a salt anyone may know or guess (None: not yet resolved)."""
    if profile not in PROFILES:
        raise ValueError(f"RCL_PROFILE must be one of {', '.join(PROFILES)}, not {profile!r}")
    if profile != "production" or salt is None:
        return
    if salt in KNOWN_DEMO_PII_SALTS:
        raise ValueError("RCL_PII_SALT is a published demo salt, refused with RCL_PROFILE=production: "
                         "unset it (the data dir's random salt is used) or set a secret of your own")
    if len(salt) < MIN_PII_SALT_LENGTH:
        raise ValueError(f"RCL_PII_SALT is shorter than {MIN_PII_SALT_LENGTH} characters, refused with "
                         "RCL_PROFILE=production: use a long random secret (e.g. 64 hex digits)")


def _env_value(value) -> str:
    if value is None:  # a setting not given (the PII salt before it is resolved)
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _truthy(value: str) -> bool:
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, not {value!r}")


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name, default).strip() or default
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def deployment_settings_from_env(environ: Mapping[str, str] | None = None) -> dict:
    """What the deployment's data means and how identities are guarded, from `environ`
    (default: os.environ); unset, the Settings defaults (nothing assumed about the retailer)."""
    env = os.environ if environ is None else environ
    code = env.get("RCL_PHONE_COUNTRY_CODE", "").strip().lstrip("+")
    if code and not code.isdigit():
        raise ValueError(f"RCL_PHONE_COUNTRY_CODE must be a country calling code such as 49 or 1, not {code!r}")
    return dict(
        phone_country_code=code,
        phone_trunk_prefix=env.get("RCL_PHONE_TRUNK_PREFIX", Settings.phone_trunk_prefix).strip(),
        prices_include_tax=_truthy(env.get("RCL_PRICES_INCLUDE_TAX", "true" if Settings.prices_include_tax else "false")),
        shop_domains=env.get("RCL_SHOP_DOMAINS", Settings.shop_domains).strip(),
        pii_salt=env.get("RCL_PII_SALT") or None,
        profile=env.get("RCL_PROFILE", Settings.profile).strip() or Settings.profile,
        consent_never_recorded=_choice(env, "RCL_CONSENT_NEVER_RECORDED", Settings.consent_never_recorded,
                                       CONSENT_NEVER_RECORDED),
        **{
            field: int(env.get(ENV_VARIABLES[field], getattr(Settings, field)))
            for field in ("identity_max_accounts_per_identifier", "identity_max_emails_per_identifier",
                          "identity_max_accounts_per_cookie", "identity_max_accounts_per_email")
        },
        max_orphan_rate=float(env.get("RCL_MAX_ORPHAN_RATE", Settings.max_orphan_rate)),
        max_quarantine_rate=float(env.get("RCL_MAX_QUARANTINE_RATE", Settings.max_quarantine_rate)),
    )


OPERATIONS_HOURS = ("freshness_raw_hours", "freshness_marts_hours", "freshness_features_hours",
                    "freshness_online_hours", "freshness_fail_after_hours")


def operations_settings_from_env(environ: Mapping[str, str] | None = None) -> dict:
    """How the deployment is watched (freshness windows, the alert webhook), from `environ`
    (default: os.environ); unset, the Settings defaults."""
    env = os.environ if environ is None else environ
    values = {field: float(env.get(ENV_VARIABLES[field], getattr(Settings, field))) for field in OPERATIONS_HOURS}
    for field, hours in values.items():
        if hours <= 0:
            raise ValueError(f"{ENV_VARIABLES[field]} must be a positive number of hours, not {hours}")
    return dict(**values, alert_webhook_url=env.get("RCL_ALERT_WEBHOOK_URL", Settings.alert_webhook_url).strip())


def get_settings() -> Settings:
    """The settings of this process's environment (`Settings.from_env()`); writes nothing."""
    return Settings.from_env()
