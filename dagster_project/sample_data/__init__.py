"""Synthetic landing data for the five source systems (see generator.py), for one of the
generated retailers (worlds.py holds each one's deployment settings)."""

from dagster_project.sample_data.generator import SCALES, generate

__all__ = ["SCALES", "generate"]
