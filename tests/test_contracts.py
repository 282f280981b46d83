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
