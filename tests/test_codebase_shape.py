"""Guards on the shape of the codebase: functions small enough to read as named steps, and
tracked files that speak of the project only (no issue-tracker references, no paths of the
machine they were written on, no package-registry hosts)."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 80

# The word issue followed by a number (with or without a hash sign), or opening a parenthesis.
ISSUE_WORD = re.compile(r"\bissues?\s*#\s*\d+|\bissues?\s+\d+\b|[(]issue\b", re.IGNORECASE)
# A hash sign and a number standing alone in prose; not a Markdown anchor ("](#1-before-you-start)",
# followed by "-"), an id quoted as data ("`#1001`") or an HTML entity ("&#160;").
BARE_NUMBER_REFERENCE = re.compile(r"(?<![\w&#/`\]])#\d+\b(?![\w-])")
# CSS colours written with digits only ("color: #070") are not references.
CSS_COLOUR = re.compile(r"\b(?:color|background(?:-color)?|border(?:-\w+)?)\s*:\s*#[0-9a-fA-F]{3,8}\b", re.IGNORECASE)

# An absolute path under this machine's top-level folders. The data dir's own `work/` folder
# (`$RCL_DATA_DIR/work/warehouse.duckdb`, `... ~ '/work/warehouse.duckdb'` in the dbt profile)
# is the project's layout, not the machine's.
MACHINE_PATH = re.compile(r"(?<![\w.$}~-])/(?:root|home|wor[k])/(?!warehouse\.duckdb)")
REGISTRY_HOST = re.compile(
    r"\b(?:pypi\.org|pypi\.python\.org|files\.pythonhosted\.org|registry\.npmjs\.org|registry\.yarnpkg\.com"
    r"|proxy\.golang\.org|sum\.golang\.org|(?:index\.|static\.)?crates\.io|rubygems\.org|repo1?\.maven(?:\.apache)?\.org"
    r"|conda\.anaconda\.org|repo\.anaconda\.com|registry-1\.docker\.io|ghcr\.io|quay\.io)\b",
    re.IGNORECASE,
)


def _tracked_text_files() -> list[tuple[str, str]]:
    """(path, text) of every file git tracks that is text (no NUL byte)."""
    try:
        listing = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git checkout ({exc}): the tracked files cannot be listed")
    files = []
    for name in listing.stdout.decode().split("\0"):
        path = REPO_ROOT / name
        if not name or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" not in data:
            files.append((name, data.decode("utf-8", errors="replace")))
    return files


def long_functions(root: Path, limit: int, base: Path = REPO_ROOT) -> list[str]:
    """`file:line name (N lines)` (file relative to `base`) of every function or method under
    `root` longer than `limit` lines (from its `def` to its last line)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    found.append(f"{path.relative_to(base)}:{node.lineno} {node.name} ({length} lines)")
    return found


def issue_citations(text: str) -> list[str]:
    hits = []
    for number, line in enumerate(text.splitlines(), start=1):
        prose = CSS_COLOUR.sub("", line)
        for match in (*ISSUE_WORD.finditer(prose), *BARE_NUMBER_REFERENCE.finditer(prose)):
            hits.append(f"{number}: {match.group(0)!r} in {line.strip()[:120]!r}")
    return hits


def pattern_hits(pattern: re.Pattern, text: str) -> list[str]:
    return [
        f"{number}: {match.group(0)!r} in {line.strip()[:120]!r}"
        for number, line in enumerate(text.splitlines(), start=1)
        for match in pattern.finditer(line)
    ]


def test_no_function_in_the_project_package_is_longer_than_80_lines():
    offenders = long_functions(REPO_ROOT / "dagster_project", MAX_FUNCTION_LINES)
    assert not offenders, (
        f"functions over {MAX_FUNCTION_LINES} lines (split them into named steps):\n" + "\n".join(offenders)
    )


def test_no_tracked_file_cites_an_issue_number():
    hits = {name: found for name, text in _tracked_text_files() if (found := issue_citations(text))}
    assert not hits, "issue references (say what the change does instead):\n" + "\n".join(
        f"{name}:{hit}" for name, found in hits.items() for hit in found
    )


def test_no_tracked_file_names_a_path_of_this_machine_or_a_package_registry_host():
    hits = {
        name: found
        for name, text in _tracked_text_files()
        if (found := pattern_hits(MACHINE_PATH, text) + pattern_hits(REGISTRY_HOST, text))
    }
    assert not hits, "machine paths or registry hosts in tracked files:\n" + "\n".join(
        f"{name}:{hit}" for name, found in hits.items() for hit in found
    )


# DuckDB's module-wide default connection (`duckdb.sql`, `duckdb.execute` and kin) is shared by
# everything in the process, and since DuckDB 2.0 a half-read result on it breaks the next query.
DEFAULT_CONNECTION = re.compile(r"\bduckdb\.(?:sql|execute|query|query_df|from_query)\(")


def test_no_python_file_queries_duckdbs_module_wide_connection():
    hits = {name: found for name, text in _tracked_text_files() if name.endswith(".py")
            and (found := pattern_hits(DEFAULT_CONNECTION, text))}
    assert not hits, "use a connection of its own (duckdb.connect()):\n" + "\n".join(
        f"{name}:{hit}" for name, found in hits.items() for hit in found)


def test_the_guards_find_what_they_look_for(tmp_path):
    """The patterns above must catch the real thing and pass the look-alikes, or the guards
    prove nothing."""
    # written in pieces, so that this file does not cite what it looks for
    for cited in ("fixed in issue " + "12", "see Issue #" + "7", "as in (" + "issue tracker)",
                  "regression of #" + "42.", "(#" + "3)", "closes #" + "15"):
        assert issue_citations(cited), cited
    for fine in ("[section 7](#7-when-a-column-is-missing)", "`Name` (`#1001`)", "tr.ok { color: #070; }",
                 "no issues here", "&#160;", "line 12 is quoted"):
        assert not issue_citations(fine), fine

    home, work = "/" + "home/", "/" + "work/"
    for machine in (f"{home}alice/shop", f"cd {work}main", f"'{work}notes/x.md'", "/" + "root/.cache"):
        assert pattern_hits(MACHINE_PATH, machine), machine
    for project in ("data/work/warehouse.duckdb", "$RCL_DATA_DIR/work/warehouse.duckdb",
                    "env_var('RCL_DATA_DIR', '../data') ~ '/work/warehouse.duckdb'"):
        assert not pattern_hits(MACHINE_PATH, project), project
    assert pattern_hits(REGISTRY_HOST, "pip install --index-url https://" + "pypi" + ".org/simple x")
    assert not pattern_hits(REGISTRY_HOST, "the feature registry (registry.db)")
    assert pattern_hits(DEFAULT_CONNECTION, "n = duckdb" + ".sql('select 1').fetchall()")
    assert not pattern_hits(DEFAULT_CONNECTION, "con = duckdb.connect(); con.sql('select 1')")

    (tmp_path / "pkg").mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "pkg" / "long.py").write_text(f"def short():\n    return 1\n\n\ndef too_long():\n{body}\n")
    found = long_functions(tmp_path / "pkg", MAX_FUNCTION_LINES, base=tmp_path)
    assert found == [f"pkg/long.py:5 too_long ({MAX_FUNCTION_LINES + 1} lines)"]
