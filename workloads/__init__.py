"""Workload definitions (TOML), the model zoo and the wasm guests."""
