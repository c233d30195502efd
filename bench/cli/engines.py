"""`run --engine NAME=PATH|NAME=cmd:'TEMPLATE'`, `--engine-version`, `--engine-base`:
the engines of a run, checked before anything is written (docs/engines.md)."""

from __future__ import annotations

from hosts.engines import Engine, EngineError, check, parse


def engines_of(given: list[str], versions: list[str]) -> list[Engine]:
    """Parse and check every --engine (EngineError: bad input, exit 2)."""
    version_of: dict[str, str] = {}
    for text in versions:
        name, eq, command = text.partition("=")
        if not eq or not command.strip():
            raise EngineError(f"--engine-version {text!r}: give NAME=COMMAND")
        version_of[name.strip()] = command.strip()
    chosen: list[Engine] = []
    for text in given:
        name = text.partition("=")[0].strip()
        engine = parse(text, version_of.get(name))
        if any(e.name == engine.name for e in chosen):
            raise EngineError(f"--engine {engine.name}: the name is given twice")
        chosen.append(engine)
    if stray := sorted(set(version_of) - {e.name for e in chosen}):
        raise EngineError(f"--engine-version {stray[0]}: no --engine {stray[0]}=cmd:... given")
    for engine in chosen:
        if engine.path is not None and version_of.get(engine.name):
            raise EngineError(f"--engine-version {engine.name}: only for cmd: engines")
        check(engine)
    return chosen


def chosen_engines(given: list[str], versions: list[str], base: str | None) -> list[Engine]:
    """The run's engines, the --engine-base first (the build the others are compared with)."""
    chosen = engines_of(given, versions)
    if base is None:
        return chosen
    first = [e for e in chosen if e.name == base]
    if not first:
        raise EngineError(
            f"--engine-base {base}: no such --engine (given: "
            f"{', '.join(e.name for e in chosen) or 'none'})"
        )
    return first + [e for e in chosen if e.name != base]


def check_instances(hosts: list[str] | None, chosen: list[Engine]) -> None:
    """`--hosts wasmtime-cli[NAME]` / `cmd[NAME]` needs its `--engine NAME=...`."""
    from contracts.hosts import parse_host

    given = {e.host for e in chosen}
    for host in hosts or []:
        if parse_host(host).instance is not None and host not in given:
            name = parse_host(host).instance
            raise EngineError(f"--hosts {host}: no --engine {name}=PATH (or =cmd:'TEMPLATE') given")
