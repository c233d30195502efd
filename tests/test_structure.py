"""The house rules that code review alone lets slip: no function longer than 80 lines
in bench/, hosts/ and contracts/ (docs/architecture.md)."""

from __future__ import annotations

import ast

from tests.helpers import REPO

MAX_LINES = 80
# Known longer ones, to be split by whoever next changes them; none may be added.
KNOWN_LONG = {
    "bench/measure/workload.py:load_workload",
    "bench/present/report.py:build",
    "bench/present/svg.py:trend",
}


def long_functions() -> set[str]:
    found = set()
    for package in ("bench", "hosts", "contracts"):
        for path in sorted((REPO / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    assert node.end_lineno is not None
                    if node.end_lineno - node.lineno + 1 > MAX_LINES:
                        found.add(f"{path.relative_to(REPO)}:{node.name}")
    return found


def test_no_function_is_longer_than_80_lines() -> None:
    new = long_functions() - KNOWN_LONG
    assert not new, f"split these (at most {MAX_LINES} lines each): {sorted(new)}"
