"""Prints the micro-benchmarks' own tables after pytest-benchmark's."""

from __future__ import annotations

from typing import Any

from microbenchmarks import registry


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for title, lines in registry.tables():
        terminalreporter.write_sep("-", title)
        for line in lines:
            terminalreporter.write_line(line)
