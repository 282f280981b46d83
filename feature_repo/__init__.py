"""The Feast feature repo: entities, data sources, feature views and feature services, as plain
definitions (importing them reads no setting and touches nothing). Applied to a deployment's
registry by dagster_project/feast_ext/repo.py."""
