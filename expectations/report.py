"""Stored validation results: the full GX result as JSON and a small static HTML page next to it
(expectation, success, observed value, unexpected count, sample), viewable in a browser and
linked from the Dagster check metadata."""

from __future__ import annotations

import html
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def store_validation(results_dir: Path, title: str, result_json: dict[str, Any], notes: list[str] | None = None) -> tuple[Path, Path]:
    """Write <stamp>.json and <stamp>.html under results_dir; returns both paths."""
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    json_path = results_dir / f"{stamp}.json"
    json_path.write_text(json.dumps(result_json, indent=1, default=str))
    html_path = results_dir / f"{stamp}.html"
    html_path.write_text(render_html(title, result_json, notes or [], json_path.name))
    return json_path, html_path


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    return str(value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=_plain)
    if text in ("[]", "null"):
        return ""
    return html.escape(text if len(text) <= 300 else text[:300] + "…")


def render_html(title: str, result_json: dict[str, Any], notes: list[str], json_name: str) -> str:
    results = result_json.get("results", [])
    success = result_json.get("success")
    rows = []
    for r in sorted(results, key=lambda r: bool(r.get("success"))):
        config = r.get("expectation_config", {}) or {}
        kwargs = {k: v for k, v in (config.get("kwargs") or {}).items() if k != "batch_id"}
        result = r.get("result", {}) or {}
        rows.append(
            "<tr class='{cls}'><td>{ok}</td><td>{type}</td><td>{kwargs}</td><td>{observed}</td>"
            "<td>{count}</td><td>{pct}</td><td>{sample}</td></tr>".format(
                cls="ok" if r.get("success") else "fail",
                ok="✔" if r.get("success") else "✘",
                type=html.escape(str(config.get("type", ""))),
                kwargs=_cell(kwargs),
                observed=_cell(result.get("observed_value")),
                count=_cell(result.get("unexpected_count")),
                pct=_cell(round(result["unexpected_percent"], 4) if result.get("unexpected_percent") is not None else None),
                sample=_cell(result.get("partial_unexpected_list")),
            )
        )
    stats = result_json.get("statistics", {})
    notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }} table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #ccc; padding: 4px 6px; font-size: 13px; vertical-align: top; }}
tr.fail {{ background: #fde2e2; }} tr.ok {{ background: #eef8ee; }} .fail-h {{ color: #b00; }} .ok-h {{ color: #070; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="{'ok-h' if success else 'fail-h'}"><b>{'passed' if success else 'FAILED'}</b> —
{stats.get('successful_expectations', '?')} of {stats.get('evaluated_expectations', '?')} expectations met.
Full result: <a href="{html.escape(json_name)}">{html.escape(json_name)}</a></p>
<ul>{notes_html}</ul>
<table><tr><th></th><th>expectation</th><th>arguments</th><th>observed</th><th>unexpected</th><th>unexpected %</th><th>sample</th></tr>
{''.join(rows)}
</table></body></html>
"""
