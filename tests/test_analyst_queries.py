"""Every SQL example in docs/analyst_queries.md runs against a freshly built warehouse and
answers with rows."""

from __future__ import annotations

import re

import duckdb
import pytest

from dagster_project.settings import REPO_ROOT

pytestmark = pytest.mark.slow

DOC = REPO_ROOT / "docs" / "analyst_queries.md"
QUERIES = re.findall(r"```sql\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_page_has_queries():
    assert len(QUERIES) >= 6


@pytest.mark.parametrize("sql", QUERIES, ids=[f"query{i + 1}" for i in range(len(QUERIES))])
def test_analyst_query_runs_and_answers(pipeline_settings, sql):
    with duckdb.connect(str(pipeline_settings.warehouse_path), read_only=True) as conn:
        result = conn.execute(sql).fetchall()
    assert result, "the example returns no rows on the sample shop"
    assert all(any(value is not None for value in row) for row in result)
