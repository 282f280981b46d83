"""Synthetic landing data for the five source systems (see generator.py)."""

from dagster_project.sample_data.generator import SCALES, generate

__all__ = ["SCALES", "generate"]
