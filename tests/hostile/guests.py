"""Whole-guest faults for the isolation tests: WASI commands that take the
place of the driver in a workload (`[guests] preview1 = "x.wasm"`)."""

from __future__ import annotations

from pathlib import Path

import wasmtime

_PRELUDE = """
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_ephemeral_nn" "load" (func $load (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
"""

GUESTS = {
    # wasm `unreachable`: a trap
    "trap": '(func (export "_start") unreachable)',
    # exits non-zero before measuring anything
    "exit": '(func (export "_start") (call $exit (i32.const 3)))',
    # never returns
    "loop": '(func (export "_start") (loop $l (br $l)))',
    # grows its memory and touches every new page, then spins holding it
    "memory": """(func (export "_start") (local $old i32)
      (loop $more
        (local.set $old (memory.grow (i32.const 16)))
        (if (i32.ne (local.get $old) (i32.const -1))
          (then
            (memory.fill (i32.shl (local.get $old) (i32.const 16)) (i32.const 1)
                         (i32.const 1048576))
            (br $more))))
      (loop $spin (br $spin)))""",
    # a builder array far outside memory: the wasmtime CLI's witx host panics
    # on it (tests/conformance/abi_cases.py CLI_OUTCOMES), the CLI aborts
    "cli-panic": """(func (export "_start")
      (call $exit (call $load (i32.const 0x7ffffff0) (i32.const 1) (i32.const 0)
                              (i32.const 0) (i32.const 0))))""",
    # a plain WASI program that never touches wasi-nn ("hello" and exit 0)
    "not-wasi-nn": '(func (export "_start") (call $exit (i32.const 0)))',
}


def write_guest(name: str, folder: Path) -> Path:
    path = folder / f"{name}.wasm"
    path.write_bytes(wasmtime.wat2wasm(f"(module {_PRELUDE} {GUESTS[name]})"))
    return path
