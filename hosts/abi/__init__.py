"""The two wasi-nn ABIs our Python hosts speak, one module each, side by side:
`witx` (the legacy `wasi_ephemeral_nn` of preview1 modules) and `wit`
(`wasi:nn@0.2.0-rc-2024-10-28` of components). Both front-ends
(hosts/wasmtime_py/preview1.py, component.py) work in the neutral error codes of
`hosts.backends.base.ERROR_CODES` and translate only at the boundary.
"""

from __future__ import annotations

from hosts.backends.base import BackendError

MAX_DIMS = 64  # numpy's limit on array dimensions: more is an ABI error, not a ValueError


class NnError(BackendError):
    """An ABI call's own failure (bad handle, bad dims, unknown graph name, ...) in the
    neutral codes; each front-end answers it as it answers a backend's error."""
