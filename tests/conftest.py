"""Fixtures that several test files share (constants and plain helpers are in
tests/helpers.py, synthetic run folders in tests/synthetic_run.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance import abi_cases
from workloads.guests import toolchain


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory: pytest.TempPathFactory) -> abi_cases.Model:
    """The conformance suite's tiny ONNX model in a preopen folder (abi_cases'
    memory map): one per test module, as a guest may write beside it."""
    return abi_cases.conformance_model(tmp_path_factory.mktemp("conformance-onnx"), "onnx")


@pytest.fixture(scope="session")
def jco() -> Path:
    """The pinned jco, for the reproducible builds and adapt_many.mjs."""
    try:
        return toolchain.ensure_jco()
    except toolchain.ToolError as e:
        pytest.skip(f"jco unavailable: {e}")
