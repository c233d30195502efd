"""The contract every host implements (the job and result types are in `contracts.jobs`).

A host is thin: it speaks one ABI to a guest (or none, for native) and delegates
the inference to a backend from `hosts.backends`.
"""

from __future__ import annotations

from typing import Protocol

from contracts.jobs import CellJob, RoundResult


class Host(Protocol):
    name: str
    variants: tuple[str, ...]

    def probe(self, variant: str, backend: str, device: str) -> str | None:
        """Cheap check before running: None if worth trying, else a reason
        starting with 'unsupported: ' or 'skipped: '."""
        ...

    def run_round(self, job: CellJob) -> RoundResult:
        """Run warm-up + iterations once. Raise CellUnsupported/CellSkipped/CellFailed."""
        ...
