"""`make demo` ends with one online vector per feature service of the registry (services added by
any consumer module show up without touching the demo): real build, real Feast online store."""

from __future__ import annotations

import re

from dagster_project.demo import print_online_features
from dagster_project.feast_ext.repo import get_feature_store


def test_the_demo_prints_one_vector_per_feature_service(pipeline_settings, capsys):
    print_online_features(pipeline_settings)
    lines = [line.strip() for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
    services = get_feature_store(pipeline_settings).list_feature_services()
    assert {"personalization_v1", "product_content_v1", "cart_recovery_v1"} <= {s.name for s in services}
    assert len(lines) == len(services)
    for service, line in zip(sorted(services, key=lambda s: s.name), lines):
        count = len({f.name for p in service.feature_view_projections for f in p.features})
        match = re.fullmatch(rf"{service.name}  \[(\S+=\S+ ?)+\]  {count} features: (.+)", line)
        assert match, line
        # a real vector: at least one feature present, shown as name=value
        assert re.match(r"\w+=", match.group(2)) and "(none present)" not in line, line
