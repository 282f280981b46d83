"""Dagster code location: `dagster dev -m dagster_project.definitions`. Configuration enters
through the environment's RCL_* variables (dg.EnvVar); importing writes nothing."""

from dagster_project.defs import build_defs

defs = build_defs()
