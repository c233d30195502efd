"""meta.json as read from a run folder, checked field by field (docs/reliability.md).

Run folders travel between machines (CI artifacts, a colleague's results), so a reader
treats meta.json as untrusted: each field the readers use must have its type, and
`run_id` must be a plain name (it becomes a folder name in reports and the site). A bad
field is a RunFolderError naming the file and the field (exit 2), never a traceback or a
path outside the output folder.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bench.results.store import RunFolderError
from contracts.paths import is_plain_name

NUMBER = (int, float)
TEXT_OR_NONE = (str, type(None))
# top-level field -> the types it may have (absent is fine: old runs lack some)
FIELDS: dict[str, tuple[type, ...]] = {
    "schema_version": (int,),
    "run_id": (str,),
    "created": TEXT_OR_NONE,
    "finished": TEXT_OR_NONE,
    "interrupted": (bool,),
    "git_sha": TEXT_OR_NONE,
    "shard": TEXT_OR_NONE,
    "machine": (dict,),
    "packages": (dict,),
    "runtimes": (dict,),
    "engines": (dict,),
    "engine_base": TEXT_OR_NONE,
    "models": (dict,),
    "workloads": (dict,),
    "backends": (dict,),
    "config": (dict,),
    "measure": TEXT_OR_NONE,
    "measure_unit": TEXT_OR_NONE,
    "machine_state": (dict, type(None)),
}
WORKLOAD_NUMBERS = ("warmup", "iterations", "rounds", "threads", "io_bytes")
SHARD = re.compile(r"[0-9]{1,6}/[0-9]{1,6}")


def _type_name(types: tuple[type, ...]) -> str:
    return " or ".join("null" if t is type(None) else t.__name__ for t in types)


def _field(meta: dict[str, Any], name: str, types: tuple[type, ...]) -> str | None:
    value = meta[name]
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    return None if ok else f"field '{name}': {type(value).__name__}, expected {_type_name(types)}"


def _nested(meta: dict[str, Any]) -> str | None:
    """The fields inside the objects that the readers use."""
    for table in ("packages", "runtimes"):
        for k, v in (meta.get(table) or {}).items():
            if not isinstance(v, str):
                return f"field '{table}.{k}': {type(v).__name__}, expected str"
    for k in ("fingerprint", "arch"):
        if not isinstance((meta.get("machine") or {}).get(k, ""), str):
            return f"field 'machine.{k}': expected str"
    target = (meta.get("config") or {}).get("target_ci")
    numbers = isinstance(target, dict) and all(
        isinstance(target.get(k), NUMBER) and not isinstance(target.get(k), bool)
        for k in ("pct", "max_time_s")
    )
    if target is not None and not numbers:
        return "field 'config.target_ci': expected an object with numbers 'pct' and 'max_time_s'"
    for name, w in (meta.get("workloads") or {}).items():
        if not isinstance(w, dict):
            return f"field 'workloads.{name}': expected an object"
        for k in WORKLOAD_NUMBERS:
            v = w.get(k, 0)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                return f"field 'workloads.{name}.{k}': expected a whole number >= 0"
    return None


def check_meta(meta: dict[str, Any], path: Path) -> None:
    """Raise RunFolderError naming `path` and the field when meta.json is not usable."""
    problem = next((p for n, t in FIELDS.items() if n in meta and (p := _field(meta, n, t))), None)
    if problem is None and "run_id" in meta and not is_plain_name(meta["run_id"]):
        problem = f"field 'run_id': {meta['run_id'][:60]!r} is not a plain folder name"
    if problem is None and meta.get("shard") is not None and not SHARD.fullmatch(meta["shard"]):
        problem = f"field 'shard': {meta['shard'][:40]!r} is not I/N"
    problem = problem or _nested(meta)
    if problem:
        raise RunFolderError(f"{path}: {problem}")
