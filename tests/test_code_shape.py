"""The shape the developers' guide asks of the code: no function longer than 80 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from contracts.paths import REPO_ROOT

MAX_LINES = 80
PACKAGES = ("bench", "contracts", "hosts", "workloads")


def long_functions(folder: Path, root: Path = REPO_ROOT) -> list[str]:
    """'path:line name (N lines)' for every function or method over MAX_LINES lines."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_LINES:
                    where = path.relative_to(root)
                    found.append(f"{where}:{node.lineno} {node.name} ({lines} lines)")
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_no_function_is_longer_than_80_lines(package: str) -> None:
    assert long_functions(REPO_ROOT / package) == []


def test_the_check_sees_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    (tmp_path / "m.py").write_text(f"def short():\n    pass\n\n\ndef long():\n{body}\n")
    assert long_functions(tmp_path, tmp_path) == [f"m.py:5 long ({MAX_LINES + 1} lines)"]
