"""dbt parses the project once per data dir, not once per command: its partial-parse state holds
the profile (the warehouse's path), so each data dir keeps its own (defs/project.py) and a dbt step
starts from it, whichever data dir parsed the project last."""

from __future__ import annotations

import shutil

import pytest

from dagster_project.defs.project import (PARTIAL_PARSE, dbt_cli, keep_partial_parse, partial_parse_cache,
                                          seed_partial_parse, step_target_path)
from dagster_project.pii_salt import with_pii_salt

from conftest import make_settings

pytestmark = pytest.mark.heavy  # tens of seconds in all: run early in its tier (tests/conftest.py)

FULL_PARSE = "Unable to do partial parsing"


def _ls(settings, step: str) -> list[str]:
    """`dbt ls` as a dbt step runs it (seeded, then kept); dbt's log messages."""
    target = step_target_path(step, "testrun0")
    seed_partial_parse(settings, target)
    invocation = dbt_cli().cli(["ls", "--select", "orders"], env=settings.env(), target_path=target)
    messages = [event.raw_event["info"]["msg"] for event in invocation.stream_raw_events()]
    invocation.wait()
    keep_partial_parse(settings, target)
    shutil.rmtree(target)  # in the project's target folder, as a step's: removed as a step's is
    return messages


def test_the_second_dbt_command_of_a_data_dir_does_not_parse_the_whole_project(tmp_path):
    # a new data dir: the project's state (if any) was saved with another data dir's profile
    mine = with_pii_salt(make_settings(tmp_path / "mine"))
    first = _ls(mine, "dbt_first")
    assert any(FULL_PARSE in m for m in first), "the first command of a new data dir parses the project"
    assert partial_parse_cache(mine).exists() and partial_parse_cache(mine).name == PARTIAL_PARSE
    second = _ls(mine, "dbt_second")
    assert any("Found" in m and "models" in m for m in second)
    assert not any(FULL_PARSE in m for m in second), [m for m in second if "pars" in m.lower()]


def _compile_window(settings, step: str, start: str, end: str) -> list[str]:
    """The window macro compiled as a partition's dbt step sees it (the window in its variables)."""
    import json

    target = step_target_path(step, "testrun0")
    seed_partial_parse(settings, target)
    env = {**settings.env(), "RCL_DBT_WINDOW_START": start, "RCL_DBT_WINDOW_END": end}
    try:
        invocation = dbt_cli().cli(["compile", "--inline", "select {{ in_delivery_window() }} as in_window"],
                                   env=env, target_path=target)
        messages = [json.dumps(event.raw_event) for event in invocation.stream_raw_events()]
        invocation.wait()
        keep_partial_parse(settings, target)
    finally:
        shutil.rmtree(target, ignore_errors=True)
    return messages


def test_a_new_delivery_window_reaches_dbt_without_parsing_the_whole_project(tmp_path):
    """A partition's window reaches the incremental models through variables: the next window
    compiles into the SQL, and dbt re-parses only what reads them (with `--vars`, every new
    window re-parsed the whole project, in the daily step and again in the step after it)."""
    mine = with_pii_salt(make_settings(tmp_path / "mine"))
    mine.warehouse_path.parent.mkdir(parents=True)  # compiling opens the (empty) warehouse
    _compile_window(mine, "dbt_daily_first", "2026-01-01", "2026-01-04")
    second = _compile_window(mine, "dbt_daily_second", "2026-01-02", "2026-01-05")
    assert any("_delivery_date >= cast('2026-01-02' as date)" in m and "cast('2026-01-05' as date)" in m
               for m in second), second[-3:]
    assert not any(FULL_PARSE in m for m in second), [m for m in second if "pars" in m.lower()]
