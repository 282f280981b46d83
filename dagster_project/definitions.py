"""Dagster code location `retail_context`: `dagster dev -w deploy/workspace.yaml` (the workspace
names it). Configuration enters through the environment's RCL_* variables (dg.EnvVar); importing
writes nothing."""

from dagster_project.defs import build_defs

defs = build_defs()
