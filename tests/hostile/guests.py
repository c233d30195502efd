"""Whole-guest faults for the isolation tests: WASI commands that take the
place of the driver in a workload (`[guests] preview1 = "x.wasm"`)."""

from __future__ import annotations

from pathlib import Path

import wasmtime

_PRELUDE = """
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_ephemeral_nn" "load" (func $load (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
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
    # prints 64 KiB chunks to stdout for ever (a gigabyte of output, then more)
    "flood": """(func (export "_start")
        (i32.store (i32.const 8) (i32.const 1024))
        (i32.store (i32.const 12) (i32.const 60000))
        (loop $more
          (drop (call $write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16)))
          (br $more)))""",
    # a plain WASI program that never touches wasi-nn ("hello" and exit 0)
    "not-wasi-nn": '(func (export "_start") (call $exit (i32.const 0)))',
}


def write_guest(name: str, folder: Path) -> Path:
    path = folder / f"{name}.wasm"
    path.write_bytes(wasmtime.wat2wasm(f"(module {_PRELUDE} {GUESTS[name]})"))
    return path


def _wat_string(data: bytes) -> str:
    return "".join(f"\\{b:02x}" for b in data)


def write_samples_guest(text: str, folder: Path, name: str = "forger") -> Path:
    """A guest that measures nothing and writes `text` as its samples file (the
    driver's `--samples samples.txt`, in the preopened folder, fd 3), then exits 0."""
    data = text.encode()
    wat = f"""(module
      (import "wasi_snapshot_preview1" "path_open" (func $open
        (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $write
        (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 64) "samples.txt")
      (data (i32.const 1024) "{_wat_string(data)}")
      (func (export "_start")
        ;; fd 3 = "."; O_CREAT|O_TRUNC; rights fd_write (1 << 6); new fd at 0
        (if (call $open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 11)
                        (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 0))
          (then unreachable))
        (i32.store (i32.const 8) (i32.const 1024))
        (i32.store (i32.const 12) (i32.const {len(data)}))
        (drop (call $write (i32.load (i32.const 0)) (i32.const 8) (i32.const 1)
                           (i32.const 16)))))"""
    path = folder / f"{name}.wasm"
    path.write_bytes(wasmtime.wat2wasm(wat))
    return path
