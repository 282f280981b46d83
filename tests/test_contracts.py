"""The source contracts are consistent and their documentation is rendered from them."""

from dagster_project.contracts import CONTRACTS, SYSTEMS, render_markdown
from dagster_project.settings import REPO_ROOT


def test_docs_are_rendered_from_the_contracts():
    doc = (REPO_ROOT / "docs" / "source_contracts.md").read_text()
    assert doc == render_markdown(), "run: python -m dagster_project.contracts > docs/source_contracts.md"


def test_every_system_has_entities_and_keys_are_required_columns():
    assert {c.system for c in CONTRACTS} == set(SYSTEMS)
    for contract in CONTRACTS:
        names = [c.name for c in contract.columns]
        assert len(names) == len(set(names)), contract.name
        for key in contract.primary_key:
            assert contract.column(key).required, f"{contract.name}.{key}"
        if contract.event_time:
            assert contract.column(contract.event_time).required


def test_staging_accepted_values_follow_the_contracts():
    """A dbt accepted_values test in staging restates a contract rule that ingestion enforces:
    it must accept every value of a column of that system's contracts (a list left behind when
    the contract grows fails real exports in dbt instead of at ingestion); staging may add the
    values it derives (a page call becomes 'Page Viewed')."""
    import yaml

    for system in SYSTEMS:
        contract_sets = [frozenset(map(str, c.accepted_values)) for k in CONTRACTS if k.system == system
                         for c in k.columns if c.accepted_values]
        contract_sets += [frozenset(str(v) for v in range(int(c.min_value), int(c.max_value) + 1))
                          for k in CONTRACTS if k.system == system for c in k.columns
                          if c.type == "INTEGER" and c.min_value is not None and c.max_value is not None
                          and c.max_value - c.min_value < 20]
        path = REPO_ROOT / "dbt" / "models" / "staging" / system / f"_{system}__models.yml"
        found = 0
        for model in yaml.safe_load(path.read_text())["models"]:
            for column in model.get("columns", []):
                for test in column.get("data_tests", []):
                    if isinstance(test, dict) and "accepted_values" in test and \
                            test["accepted_values"].get("config", {}).get("severity") != "warn":
                        values = test["accepted_values"]["arguments"]["values"]
                        if isinstance(values, str) and "web_event_names()" in values:
                            values = _web_event_names()  # the list comes from the event-names macro
                        values = frozenset(map(str, values))
                        found += 1
                        assert any(allowed <= values and len(allowed) >= len(values) - 1 for allowed in contract_sets), \
                            f"{model['name']}.{column['name']}: {sorted(values)}"
        assert found or system == "wms", system


def _web_event_names() -> list[str]:
    """The event names of dbt/macros/web_events.sql (the one place models take them from)."""
    import re

    macro = (REPO_ROOT / "dbt" / "macros" / "web_events.sql").read_text()
    body = macro[macro.index("macro web_event_names"):macro.index("endmacro")]
    return re.findall(r"'\w+':\s*'([^']+)'", body)
