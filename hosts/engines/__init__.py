"""Engine builds as hosts (docs/engines.md): `--engine NAME=PATH` runs a wasmtime binary
the user points at as host `wasmtime-cli[NAME]`; `--engine NAME=cmd:'TEMPLATE'` runs
another runtime by its command line as host `cmd[NAME]` (hosts/engines/cmd.py).

An engine is checked before a run folder exists (`check`): the binary or program must
exist, run, say a version and run a wasm module; what it is is then recorded in
meta.json `engines` (`describe`): its `--version`, its sha256 (a path) and which wasi-nn
backends it really has, found by running a probe guest per encoding (probe.py).

The engines of a run travel to the worker processes in the environment
(`WASINN_BENCH_ENGINES`, set by `use`), and into plan.json for `--resume`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from contracts.errors import UserError
from contracts.hosts import HOST_NAMES, HostName
from contracts.jobs import CellFailed

ENV = "WASINN_BENCH_ENGINES"
NAME = re.compile(r"[A-Za-z0-9_.-]+")
CMD_PREFIX = "cmd:"
# The placeholders of a cmd: template: {module} (required), {dir} (the folder the guest
# sees as "."), {args} (the guest's arguments, one token), {argv0} and {bench} (the
# bench preload module a program's marks need; a token holding it is dropped otherwise).
PLACEHOLDERS = ("module", "dir", "args", "argv0", "bench")
VERSION_TIMEOUT_S = 20.0


class EngineError(UserError):
    """An --engine that cannot be used: bad syntax, missing binary, not a wasm runtime."""


@dataclass(frozen=True)
class Engine:
    """One engine of a run: a wasmtime binary (`path`) or a runtime's command line
    (`template`, with `version` the command that prints its version)."""

    name: str
    path: str | None = None
    template: str | None = None
    version: str | None = None  # cmd: engines: the --version-style command line

    @property
    def host(self) -> str:
        base = "cmd" if self.template is not None else "wasmtime-cli"
        return str(HostName(base, instance=self.name))

    @property
    def spec(self) -> str:
        """How it was given: PATH or cmd:TEMPLATE."""
        return self.path if self.path is not None else f"{CMD_PREFIX}{self.template}"

    def version_command(self) -> list[str]:
        if self.path is not None:
            return [self.path, "--version"]
        return shlex.split(self.version or f"{shlex.split(self.template or '')[0]} --version")


def parse(text: str, version: str | None = None) -> Engine:
    """'old=/x/wasmtime' or "t=cmd:'wasmtime run ... {module} {args}'": syntax only
    (`check` runs it). EngineError names the flag."""
    name, eq, spec = text.partition("=")
    name, spec = name.strip(), spec.strip()
    if not eq or not name or not spec:
        raise EngineError(f"--engine {text!r}: give NAME=PATH or NAME=cmd:'TEMPLATE'")
    if not NAME.fullmatch(name):
        raise EngineError(
            f"--engine {name}: name it with letters, digits, '.', '_' or '-' (it names files)"
        )
    if name in HOST_NAMES:
        raise EngineError(f"--engine {name}: {name!r} is the name of a host; choose another")
    if not spec.startswith(CMD_PREFIX):
        return Engine(name, path=str(Path(spec).expanduser().absolute()))
    template = spec.removeprefix(CMD_PREFIX).strip()
    _check_template(name, template)
    if version is not None and not _tokens(name, version, "--engine-version"):
        raise EngineError(f"--engine-version {name}: the command is empty")
    return Engine(name, template=template, version=version)


def _tokens(name: str, template: str, flag: str = "--engine") -> list[str]:
    try:
        return shlex.split(template)
    except ValueError as e:
        raise EngineError(f"{flag} {name}: cannot split the command line: {e}") from None


def _check_template(name: str, template: str) -> None:
    tokens = _tokens(name, template)
    if not tokens:
        raise EngineError(f"--engine {name}: the cmd: template is empty")
    used = set(re.findall(r"\{(\w*)\}", template))
    if "module" not in used:
        raise EngineError(
            f"--engine {name}: the cmd: template has no {{module}} placeholder "
            "(e.g. cmd:'wasmedge --dir .:{dir} {module} {args}')"
        )
    if unknown := sorted(used - set(PLACEHOLDERS)):
        raise EngineError(
            f"--engine {name}: unknown placeholder {{{unknown[0]}}} in the template "
            f"(known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})"
        )
    if "{args}" in template and "{args}" not in tokens:
        raise EngineError(f"--engine {name}: {{args}} must stand alone in the template")


def expand(
    engine: Engine, module: Path, folder: Path, args: list[str], argv0: str = "driver",
    bench: Path | None = None,
) -> list[str]:  # fmt: skip
    """The template's command line for one run of `module`."""
    values = {"module": str(module), "dir": str(folder), "argv0": argv0, "bench": str(bench)}
    out: list[str] = []
    for token in shlex.split(engine.template or ""):
        if token == "{args}":
            out += args
        elif "{bench}" not in token or bench is not None:
            for key, value in values.items():
                token = token.replace(f"{{{key}}}", value)
            out.append(token)
    return out


def check(engine: Engine) -> None:
    """Bad input found before a run: the program is missing, not executable, cannot say
    its version or does not run a wasm module. EngineError names the flag."""
    flag = f"--engine {engine.name}"
    if engine.path is not None:
        path = Path(engine.path)
        if not path.exists():
            raise EngineError(f"{flag}: {path} does not exist")
        if not path.is_file() or not os.access(path, os.X_OK):
            raise EngineError(f"{flag}: {path} is not an executable file")
    else:
        program = engine.version_command()[0]
        if shutil.which(program) is None:
            raise EngineError(f"{flag}: the template's program {program!r} is not found")
    said = version_text(engine, flag)
    if engine.path is not None and not said.lower().startswith("wasmtime"):
        raise EngineError(
            f"{flag}: {engine.path} is not a wasmtime CLI (`--version` said {said[:80]!r})"
        )
    from hosts.engines.probe import runs_wasm

    if why := runs_wasm(engine):
        raise EngineError(f"{flag}: not a wasm runtime: {why}")


def version_text(engine: Engine, flag: str | None = None) -> str:
    """What the engine's version command says (first line). EngineError with `flag`,
    else CellFailed, when it cannot."""
    cmd = engine.version_command()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=VERSION_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as e:
        why = f"`{shlex.join(cmd)}` cannot run: {e}"
    else:
        lines = (proc.stdout.strip() or proc.stderr.strip()).splitlines()
        if proc.returncode == 0 and lines:
            return lines[0].strip()
        why = f"`{shlex.join(cmd)}` exited {proc.returncode}: {' | '.join(lines[-2:])[:200]}"
    if flag:
        raise EngineError(f"{flag}: {why}")
    raise CellFailed(why)


def sha256(path: str) -> str:
    """The binary's sha256 (computed once per file version: path, size, mtime)."""
    st = os.stat(path)
    return _sha256(path, st.st_size, st.st_mtime_ns)


@cache
def _sha256(path: str, _size: int, _mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def identity(engine: Engine) -> str:
    """What a precompiled guest and a probe are keyed by: the binary's sha256, or the
    template and the runtime's version (a cmd: engine)."""
    if engine.path is not None:
        return sha256(engine.path)
    text = f"{engine.template}\0{version_text(engine)}"
    return hashlib.sha256(text.encode()).hexdigest()


def use(engines: list[Engine]) -> None:
    """Make the engines known to this process and the workers it starts."""
    if engines:
        os.environ[ENV] = json.dumps([asdict(e) for e in engines])
    else:
        os.environ.pop(ENV, None)


def given() -> list[Engine]:
    """The engines of this run (`use`), in the order given."""
    raw = os.environ.get(ENV)
    return [Engine(**e) for e in json.loads(raw)] if raw else []


def get(name: str) -> Engine:
    for engine in given():
        if engine.name == name:
            return engine
    raise CellFailed(f"engine {name!r} was not given (--engine {name}=PATH)")


def describe(engine: Engine) -> dict[str, object]:
    """meta.json `engines[host]`: how it was given, its version, sha256 and wasi-nn."""
    from hosts.engines.probe import wasi_nn

    out: dict[str, object] = {"spec": engine.spec}
    try:
        out["version"] = version_text(engine)
        if engine.path is not None:
            out["sha256"] = sha256(engine.path)
        out["wasi_nn"] = wasi_nn(engine)
    except (CellFailed, OSError) as e:
        out["error"] = str(e)
    return out
