"""Dagster code location: `dagster dev -m dagster_project.definitions`."""

from dagster_project.defs import build_defs
from dagster_project.settings import get_settings

defs = build_defs(get_settings())
