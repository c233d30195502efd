"""Developer and user entry points: `nox -s bench`, `nox -s tests`, ...

Every session installs the project (pinned dependencies from pyproject.toml)
into its own virtual environment, so a fresh machine needs only nox.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["bench"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"


def _install(session: nox.Session, extras: str = "") -> None:
    session.install("-e", f".[{extras}]" if extras else ".")


@nox.session
def bench(session: nox.Session) -> None:
    """Run the default quick suite (or `-- ARGS` for `wasinn-bench run`), then write the report."""
    _install(session)
    session.run("wasinn-bench", "run", *session.posargs, "--report")


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite: real backends, real wasm guests, real wasmtime CLI."""
    _install(session, "test")
    session.run("pytest", "-q", "-m", "not slow", *session.posargs, env={"PYTHONHASHSEED": "0"})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and format check."""
    session.install("ruff==0.17.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def guests(session: nox.Session) -> None:
    """Rebuild the wasm guests reproducibly into workloads/guests/prebuilt/ (zig, jco)."""
    _install(session)
    session.run("python", "-m", "workloads.guests.build", *session.posargs)


@nox.session
def micro(session: nox.Session) -> None:
    """Micro-benchmarks (pytest-benchmark): per-call overhead and tensor transfer."""
    _install(session, "test")
    session.run("pytest", "microbenchmarks", "-q", "--benchmark-only", "-s", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Hypothesis fuzzing of the wasmtime-py hosts' wasi-nn ABI (>= 10,000 cases): prints
    the case counts and the errno histogram; fails on any host bug."""
    _install(session, "test")
    session.run("python", "-m", "tests.fuzz", *session.posargs,
                env={"WASINN_FUZZ_PROFILE": "fuzz"})  # fmt: skip
