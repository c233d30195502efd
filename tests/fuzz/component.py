"""Fuzz the component host (`hosts.wasmtime_py.component`) through our adapter.

The WIT ABI's arguments are typed (lists, enums, resource handles) and lifted
by wasmtime, so raw i32 fuzzing happens where a guest meets it: a preview1
command, wrapped by the `wasi_ephemeral_nn` adapter, replays a file of fuzzed
cases (`cases.bin`, 9 x i32 each: call, 5 arguments, patch address, patch value,
pages to grow) against the conformance records, writing one errno byte per case
to stdout. The adapter checks the legacy arguments in wasm and calls our Python
wasi:nn host; a trap ends the batch (fine: a guest trap); a Python exception out
of `run` or swallowed by the host's catch-all is a bug.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import wasmtime
from wasmtime import Engine, ExitTrap, Store, WasiConfig, WasmtimeError
from wasmtime.component import Component, Linker

from contracts import paths
from hosts.abi.witx import ENCODINGS, ERRNOS
from hosts.backends.base import BackendError
from hosts.graph_names import GraphRegistry, NamedGraph
from hosts.wasmtime_py import component as comp
from tests.conformance import abi_cases
from tests.fuzz.preview1 import CALLS, MAX_PAGES, Case, Tally
from workloads.guests import adapt

ORDER = sorted(CALLS)  # call id -> name
CASES_AT = 0x10000  # the case file is read here (page 1)
MAX_CASES = 64
PRISTINE = 0x18000  # a copy of the records, restored before every case
IMAGE = 0x1000 + 4096  # bytes [0, IMAGE) are restored (records + model)
CASE_BYTES = 36


def command_wat(model: abi_cases.Model) -> str:
    text = abi_cases.wat(abi_cases.Case("fuzz", "(i32.const 0)", "success"), model)
    data = text[text.index("  (data") : text.index("  (func $must")]
    assert abi_cases.MODEL + sum(len(b) + 8 for b in model.builders) <= IMAGE
    nn = '(import "wasi_ephemeral_nn"'
    wasi = '(import "wasi_snapshot_preview1"'
    imports = "\n".join(
        f'  {nn} "{n}" (func ${n} (param {" ".join(["i32"] * CALLS[n])}) (result i32)))'
        for n in ORDER
    )

    def arg(i: int) -> str:
        return f"(i32.load offset={4 + 4 * i} (local.get $p))"

    dispatch = "\n".join(
        f"      (if (i32.eq (local.get $id) (i32.const {i})) (then (local.set $r (call ${name} "
        + " ".join(arg(k) for k in range(CALLS[name]))
        + "))))"
        for i, name in enumerate(ORDER)
    )
    return f"""(module
{imports}
  {wasi} "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  {wasi} "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  {wasi} "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  {wasi} "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 2)
{data}
  (data (i32.const 0x1f000) "cases.bin")
  (func (export "_start") (local $fd i32) (local $n i32) (local $p i32) (local $end i32)
      (local $id i32) (local $r i32)
    (memory.copy (i32.const {PRISTINE}) (i32.const 0) (i32.const {IMAGE}))
    (if (call $path_open (i32.const 3) (i32.const 0) (i32.const 0x1f000) (i32.const 9)
          (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 0x1f100))
      (then (call $proc_exit (i32.const 90))))
    (i32.store (i32.const 0x1f110) (i32.const {CASES_AT}))
    (i32.store (i32.const 0x1f114) (i32.const {MAX_CASES * CASE_BYTES}))
    (if (call $fd_read (i32.load (i32.const 0x1f100)) (i32.const 0x1f110) (i32.const 1)
          (i32.const 0x1f120))
      (then (call $proc_exit (i32.const 91))))
    ;; the case list is copied off to 0x1c000 so that no fuzzed write can change it
    (memory.copy (i32.const 0x1c000) (i32.const {CASES_AT}) (i32.load (i32.const 0x1f120)))
    (local.set $p (i32.const 0x1c000))
    (local.set $end (i32.add (local.get $p) (i32.load (i32.const 0x1f120))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (memory.copy (i32.const 0) (i32.const {PRISTINE}) (i32.const {IMAGE}))
      (if (i32.load offset=24 (local.get $p))
        (then (i32.store (i32.load offset=24 (local.get $p)) (i32.load offset=28 (local.get $p)))))
      (if (i32.and (i32.ne (i32.load offset=32 (local.get $p)) (i32.const 0))
                   (i32.le_u (i32.add (memory.size) (i32.load offset=32 (local.get $p)))
                             (i32.const {MAX_PAGES})))
        (then (drop (memory.grow (i32.load offset=32 (local.get $p))))))
      (local.set $id (i32.load (local.get $p)))
      (local.set $r (i32.const 255))
{dispatch}
      (i32.store8 (i32.const 0x1f130) (local.get $r))
      (i32.store (i32.const 0x1f134) (i32.const 0x1f130))
      (i32.store (i32.const 0x1f138) (i32.const 1))
      (drop (call $fd_write (i32.const 1) (i32.const 0x1f134) (i32.const 1) (i32.const 0x1f13c)))
      (local.set $p (i32.add (local.get $p) (i32.const {CASE_BYTES})))
      (br $next)))
    (call $proc_exit (i32.const 0)))
)"""


class ProbeState(comp.NnState):
    """The component host, recording exceptions its catch-all had to swallow."""

    def __init__(self, config: comp.NnConfig):
        super().__init__(config)
        self.bugs: list[str] = []

    def _guarded(self, fn, tagged: bool):  # noqa: ANN001, ANN202
        def checked():  # noqa: ANN202
            try:
                return fn()
            except BackendError:  # NnError included
                raise
            except Exception as e:
                self.bugs.append(f"{type(e).__name__}: {e}")
                raise

        return super()._guarded(checked, tagged)


class ComponentTarget:
    """The adapted case-replaying command, compiled once, instantiated per batch."""

    def __init__(self, model: abi_cases.Model, folder: Path):
        self.model, self.folder = model, folder
        core, adapted = folder / "fuzz.wasm", folder / "fuzz.component.wasm"
        wat = command_wat(model).replace(
            "(global.get $enc)", f"(i32.const {ENCODINGS.index(model.encoding)})"
        )
        core.write_bytes(wasmtime.wat2wasm(wat))
        script = paths.ADAPTER_DIR / "adapt_many.mjs"
        proc = subprocess.run(["node", str(script), str(adapt.ADAPTER), str(core), str(adapted)],
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        if proc.returncode:
            raise RuntimeError(f"adapting the fuzz guest failed: {proc.stderr[-500:]}")
        self.engine = Engine()
        self.component = Component(self.engine, adapted.read_bytes())
        graph = model.folder / abi_cases.GRAPH_NAME
        files = [str(graph / "model.onnx")] if model.encoding == "onnx" else [
            str(graph / "model.xml"), str(graph / "model.bin")]  # fmt: skip
        self.config = comp.NnConfig(
            graphs=GraphRegistry({abi_cases.GRAPH_NAME: NamedGraph(model.encoding, tuple(files))})
        )
        self.tally = Tally()
        self.runs = 0

    def setup(self) -> list[Case]:
        """Graph 0, context 0 (inputs set, computed), context 1: handles to hit."""
        nb, enc = len(self.model.builders), ENCODINGS.index(self.model.encoding)
        b, g, c, t = abi_cases.BUILDERS, abi_cases.OUT_GRAPH, abi_cases.OUT_CTX, abi_cases.TENSOR
        calls = [("load", [b, nb, enc, 0, g]), ("init_execution_context", [0, c]),
                 ("set_input", [0, 0, t]), ("compute", [0]), ("init_execution_context", [0, c])]  # fmt: skip
        return [Case(name, args, [], 0) for name, args in calls]

    def run(self, cases: list[Case]) -> list[str]:
        setup = self.setup()
        cases = setup + cases[: MAX_CASES - len(setup)]
        work = Path(tempfile.mkdtemp(dir=self.folder))
        blob = b""
        for c in cases:
            addr, value = c.patches[0] if c.patches else (0, 0)
            args = [*c.args, 0, 0, 0, 0, 0][:5]
            words = [ORDER.index(c.call), *args, addr, value, c.grow]
            blob += b"".join((w & 0xFFFFFFFF).to_bytes(4, "little") for w in words)
        (work / "cases.bin").write_bytes(blob)
        linker = Linker(self.engine)
        linker.add_wasip2()
        state = ProbeState(self.config)
        state.define(linker)
        store = Store(self.engine)
        wasi = WasiConfig()
        wasi.argv = ["fuzz"]
        wasi.preopen_dir(str(work), ".")
        wasi.stdout_file = str(work / "stdout")
        store.set_wasi(wasi)
        ended = "exit"
        try:
            instance = linker.instantiate(store, self.component)
            run_iface = instance.get_export_index(store, comp.WASI_RUN)
            run = instance.get_func(store, instance.get_export_index(store, "run", run_iface))
            run(store)  # type: ignore[misc]
        except ExitTrap as e:
            ended = "exit" if e.code == 0 else f"exit:{e.code}"
        except (WasmtimeError, wasmtime.Trap):
            ended = "trap"
        except Exception as e:  # noqa: BLE001 - nothing may escape
            ended = "escaped"
            self.tally.bugs.append(f"{cases}: escaped {type(e).__name__}: {e}")
        self.runs += 1
        if ended.startswith("exit:"):
            self.tally.bugs.append(f"the fuzz guest could not start ({ended})")
        got = (work / "stdout").read_bytes() if (work / "stdout").exists() else b""
        if got[: len(setup)] != bytes(len(setup)):
            self.tally.bugs.append(f"the setup calls failed: {list(got[: len(setup)])}")
        outcomes = []
        for i, c in enumerate(cases):
            if i < len(setup):
                continue
            if i < len(got):
                code = got[i]
                outcome = f"errno:{ERRNOS[code]}" if code < len(ERRNOS) else f"bad-errno:{code}"
            elif i == len(got):
                outcome = ended if ended in ("trap", "escaped") else "lost"
            else:
                break  # not run: the batch ended
            self.tally.add(c.call, outcome)
            outcomes.append(outcome)
        self.tally.bugs += [f"{cases}: swallowed {b}" for b in state.bugs]
        for path in work.iterdir():
            path.unlink()
        work.rmdir()
        return outcomes
