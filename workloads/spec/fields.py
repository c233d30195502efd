"""Reading a workload TOML table field by field, so that every problem is reported as
`file: field 'a.b': problem` (exit 2)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from contracts.errors import UserError


class WorkloadError(UserError):
    """Bad workload input; the message names the file and the field."""


class Fields:
    """Typed reads from a TOML table that report `file: field 'a.b': problem`."""

    def __init__(self, path: Path, table: dict[str, Any], prefix: str = ""):
        self.path, self.table, self.prefix = path, table, prefix
        self.used: set[str] = set()

    def error(self, key: str, problem: str) -> WorkloadError:
        return WorkloadError(f"{self.path}: field '{self.prefix}{key}': {problem}")

    def get(
        self, key: str, kind: type | tuple[type, ...], default: Any = None, required: bool = False
    ) -> Any:
        self.used.add(key)
        if key not in self.table:
            if required:
                raise self.error(key, "is required")
            return default
        value = self.table[key]
        # TOML ints are acceptable where floats are asked for; bools are not ints here.
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            _check_range(self, key, value)  # float() of an int past 2**1024 raises
            value = float(value)
        if isinstance(value, bool) and kind is not bool:
            raise self.error(key, f"expected {_kind_name(kind)}, got a boolean")
        if not isinstance(value, kind):
            raise self.error(
                key, f"expected {_kind_name(kind)}, got {type(value).__name__} {value!r}"[:200]
            )
        _check_range(self, key, value)
        return value

    def positive_int(self, key: str, default: int, minimum: int = 1) -> int:
        value = self.get(key, int, default)
        if value < minimum:
            raise self.error(key, f"must be >= {minimum}, got {value}")
        return value

    def choices(self, key: str, allowed: tuple[str, ...], default: list[str]) -> list[str]:
        values = self.get(key, list, default)
        for v in values:
            if v not in allowed:
                raise self.error(key, f"unknown value {v!r}; allowed: {', '.join(allowed)}")
        if not values:
            raise self.error(key, "must not be empty")
        return list(values)

    def table_of(self, key: str) -> Fields:
        return Fields(self.path, self.get(key, dict, {}), f"{self.prefix}{key}.")

    def reject_unknown(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            raise self.error(unknown[0], "unknown field")


def _check_range(fields: Fields, key: str, value: object) -> None:
    """Numbers a run can use: finite floats (TOML allows nan and inf: a timeout of nan
    would never fire) and ints that fit int64 (a shape dimension of 2**63 would not)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise fields.error(key, f"must be a finite number, got {value}")
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) < value < 2**63:
        raise fields.error(key, "is out of range (more than 2**63)")
    for i, item in enumerate(value if isinstance(value, list) else []):
        if isinstance(item, int | float) and not isinstance(item, bool):
            _check_range(fields, f"{key}[{i}]", item)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", list: "a list", dict: "a table"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)
