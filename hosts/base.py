"""The contract every host implements (the job and result types are in `contracts.jobs`,
the facts about each host in `contracts.hosts`).

A host is thin: it speaks one ABI to a guest (or none, for native) and delegates
the inference to a backend from `hosts.backends`. A host class subclasses `Host`
and so inherits the defaults below for what it does not do (run programs, install
releases, report a version of its own).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Literal, Self

from contracts.hosts import HostName, host_facts
from contracts.jobs import CellJob, CellUnsupported, RoundResult
from hosts.programs import ProgramJob, ProgramResult


@dataclass(frozen=True)
class Probe:
    """What a host says about a cell before it runs: worth trying (`ok`), or not, and why."""

    status: Literal["ok", "unsupported", "skipped"]
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @classmethod
    def unsupported(cls, reason: str) -> Probe:
        """The host cannot run this cell (a fact about the host)."""
        return cls("unsupported", reason)

    @classmethod
    def skipped(cls, reason: str) -> Probe:
        """This machine cannot run it now (e.g. no GPU)."""
        return cls("skipped", reason)


RUNNABLE = Probe("ok")


class Host(ABC):
    name: str
    variants: tuple[str, ...]

    @classmethod
    def from_name(cls, name: HostName) -> Self:
        """The host for a (checked) name: a plain one by default; hosts with releases or
        instances read `name.version` / `name.instance`."""
        return cls()

    @abstractmethod
    def probe(self, variant: str, backend: str, device: str) -> Probe:
        """Cheap check before running."""

    @abstractmethod
    def run_round(self, job: CellJob) -> RoundResult:
        """Run warm-up + iterations once. Raise CellUnsupported/CellSkipped/CellFailed."""

    def run_program(self, job: ProgramJob) -> ProgramResult:
        """A whole wasi-nn program, once (hosts/programs.py, docs/programs.md); only hosts
        whose facts say `runs_programs` do."""
        raise CellUnsupported(f"{self.name} runs no wasi-nn programs")

    def runtime_version(self) -> str:
        """The runtime's own version text (meta.json `runtimes` for hosts whose facts say
        `version_from_binary`; else the version of the host's package)."""
        package = host_facts(self.name).version_package
        try:
            return version(package) if package else "?"
        except PackageNotFoundError:
            return "?"

    @classmethod
    def prepare(cls, names: list[HostName], say: Callable[[str], None]) -> dict[str, str]:
        """Before a run folder exists: get what these names need (e.g. install releases).
        Returns {host: why it cannot be had now} (its cells become unsupported); raises
        UserError for a name that can never work (bad input)."""
        return {}
