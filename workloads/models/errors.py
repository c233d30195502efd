"""The model package's error type and parameter checking."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.errors import UserError


class ModelError(UserError):
    """A model cannot be built or prepared; the message is one line naming the culprit.

    `field` is the workload field at fault when it is not the model itself
    (`inputs.mask` for an input the model lacks, `inputs.x.shape` for a bad shape)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def with_defaults(builder: str, defaults: Mapping[str, Any], params: Mapping[str, Any]) -> dict:
    """Merge `params` over `defaults`; reject unknown keys and values of the wrong kind."""
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ModelError(
            f"model builder {builder!r}: unknown parameter(s) {unknown} (known: {sorted(defaults)})"
        )
    merged = dict(defaults)
    for key, value in params.items():
        want = type(defaults[key])
        ok = isinstance(value, want) and not isinstance(value, bool)
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise ModelError(
                f"model builder {builder!r}: parameter {key!r} must be {want.__name__}, "
                f"got {value!r}"
            )
        if key != "seed" and value <= 0:
            raise ModelError(f"model builder {builder!r}: parameter {key!r} must be > 0")
        merged[key] = value
    return merged
