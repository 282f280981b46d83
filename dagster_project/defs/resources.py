"""Resources: the deployment's settings (`RclSettings`), the warehouse and dbt.

`RclSettings` is where configuration enters the code location: one field per RCL_* variable,
fed by `dg.EnvVar` when the variable is set (unset: the Settings default), read through
`.settings`. Design: docs/adr/configuration-as-resources.md."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from dagster_project.defs.project import dbt_cli
from dagster_project.settings import ENV_VARIABLES, Settings

RCL_SETTINGS_KEY = "rcl_settings"


class RclSettings(dg.ConfigurableResource):
    """The deployment's settings; each field is the text of its environment variable."""

    data_dir: str | None = None
    landing_dir: str | None = None
    warehouse_path: str | None = None
    published_warehouse_path: str | None = None
    features_dir: str | None = None
    feast_dir: str | None = None
    online_store: str | None = None
    redis_url: str | None = None
    feast_project: str | None = None
    partitions_start: str | None = None
    partitions_end: str | None = None
    late_data_lookback_days: str | None = None
    duckdb_memory_limit: str | None = None
    phone_country_code: str | None = None
    phone_trunk_prefix: str | None = None
    prices_include_tax: str | None = None
    shop_domains: str | None = None
    event_horizon_days: str | None = None
    expectations_dir: str | None = None
    pii_salt: str | None = None
    profile: str | None = None
    consent_never_recorded: str | None = None
    identity_max_accounts_per_identifier: str | None = None
    identity_max_emails_per_identifier: str | None = None
    identity_max_accounts_per_cookie: str | None = None
    identity_max_accounts_per_email: str | None = None
    max_orphan_rate: str | None = None
    max_quarantine_rate: str | None = None
    freshness_raw_hours: str | None = None
    freshness_marts_hours: str | None = None
    freshness_features_hours: str | None = None
    freshness_online_hours: str | None = None
    freshness_fail_after_hours: str | None = None
    alert_webhook_url: str | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "RclSettings":
        """A dg.EnvVar for every variable set in `environ` (default: os.environ)."""
        env = os.environ if environ is None else environ
        return cls(**{field: dg.EnvVar(name) for field, name in ENV_VARIABLES.items() if name in env})

    @classmethod
    def from_settings(cls, settings: Settings) -> "RclSettings":
        """The given settings, as values (tests, benchmarks, `rcl run --data-dir`)."""
        variables = {**settings.env(), "RCL_PARTITIONS_START": settings.partitions_start}
        return cls(**{field: variables[name] for field, name in ENV_VARIABLES.items() if name in variables})

    @property
    def settings(self) -> Settings:
        variables = {}
        for field, name in ENV_VARIABLES.items():
            value = getattr(self, field)
            if isinstance(value, dg.EnvVar):  # not yet resolved: at definition time
                value = value.get_value()
            if value is not None:
                variables[name] = value
        return Settings.from_env(variables)


class WarehouseResource(DuckDBResource):
    """The working warehouse; its folder is created by the first connection that writes."""

    @contextmanager
    def get_connection(self) -> Iterator:
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)  # DuckDB creates the file only
        with super().get_connection() as conn:
            yield conn


def build_resources(settings: Settings, rcl_settings: RclSettings | None = None) -> dict:
    """The code location's resources; `rcl_settings` defaults to `settings` as values."""
    return {
        RCL_SETTINGS_KEY: rcl_settings or RclSettings.from_settings(settings),
        # bounded memory: DuckDB spills to a temp directory next to the file beyond the limit
        "warehouse": WarehouseResource(
            database=str(settings.warehouse_path),
            connection_config={"memory_limit": settings.duckdb_memory_limit},
        ),
        "dbt": dbt_cli(),
    }
