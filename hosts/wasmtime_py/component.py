"""wasmtime-py host for components: `wasi:nn@0.2.0-rc-2024-10-28` in Python.

Serves the `component` variant (driver-component.wasm, the driver built as a
native component) and the `adapted` variant (driver-adapted.wasm, the preview1
driver wrapped by our adapter): both import the same WIT world `ml`.

WASI comes from wasmtime (`Linker.add_wasip2`); the four wasi:nn interfaces
are Python functions over the shared backends (`hosts.backends`). Resources
(graph, graph-execution-context, tensor, error) are host resources: the guest
holds handles, `NnState` holds the objects in one table per resource type, and
a resource's destructor (the guest's `[resource-drop]`) removes the entry.

Limits of this host (docs/component.md):
- `list<u8>` crosses through `fastlist` (bulk numpy) unless its layout guard
  fails, then through wasmtime-py's per-element conversion (notes say which);
- a single host call lifts at most HOSTCALL_CAP values guest -> host, so an
  input tensor larger than that cannot cross (the cell is unsupported) and a
  model larger than that is loaded with `load-by-name`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from wasmtime import Engine, ExitTrap, Store, WasiConfig, WasmtimeError
from wasmtime.component import (
    Component,
    Linker,
    LinkerInstance,
    ResourceAny,
    ResourceHost,
    ResourceType,
    Variant,
)

from contracts.jobs import CellFailed, CellJob, CellUnsupported, RoundResult, peak_rss_kb
from contracts.logtail import telling_file
from hosts import guest_io
from hosts import properties as nn_properties
from hosts.abi import MAX_DIMS, NnError
from hosts.abi.wit import BACKEND_TO_WIT, DTYPE_WIT, NN_VERSION, TARGETS, WIT_DTYPES
from hosts.backends import backend_for_encoding
from hosts.backends.base import BackendError, Context, Graph
from hosts.graph_names import GraphRegistry, NamedGraph
from hosts.wasmtime_py import fastlist
from hosts.wasmtime_py.host_work import HostWork

WASI_RUN = "wasi:cli/run@0.2.12"  # jco's command adapter targets wasi 0.2.12
# Experimental, ours (workloads/guests/wit/properties.wit, docs/properties.md).
PROPERTIES_QUERY = "wasi-nn-bench:properties/query@0.1.0"

# Values a host call may lift guest -> host in wasmtime 50 ("fuel allocated for
# hostcalls has been exhausted" beyond it): the bytes of one list<u8>.
HOSTCALL_CAP = 2_796_202

# Host resource type ids (ResourceType.host); any distinct integers.
GRAPH, CONTEXT, TENSOR, ERROR = 1, 2, 3, 4


@dataclass
class Tensor:
    dims: list[int]
    ty: str  # WIT tensor-type name
    data: bytes


class Table:
    """rep -> object for one resource type; reps are never reused."""

    def __init__(self, name: str, limit: int):
        self.name = name
        self.limit = limit  # live entries; a guest that never drops cannot exhaust the host
        self.items: dict[int, Any] = {}
        self.next = 1
        self.peak = 0

    def add(self, obj: Any) -> int:
        if len(self.items) >= self.limit:
            raise NnError(
                "runtime_error", f"too many live {self.name}s ({self.limit}); drop some first"
            )
        rep = self.next
        self.next += 1
        self.items[rep] = obj
        self.peak = max(self.peak, len(self.items))
        return rep

    def get(self, rep: int) -> Any:
        try:
            return self.items[rep]
        except KeyError:
            raise NnError("invalid_argument", f"no {self.name} with handle rep {rep}") from None

    def __len__(self) -> int:
        return len(self.items)


@dataclass
class NnConfig:
    threads: int = 1
    device: str = "cpu"  # for load-by-name, which carries no execution target
    # load-by-name: the graphs the host registered (hosts/graph_names.py)
    graphs: GraphRegistry = dataclasses.field(default_factory=GraphRegistry)
    fast: bool = True  # bulk list<u8> conversion (fastlist)


class NnState:
    """The wasi:nn host side of one store: config, backends and resource tables."""

    def __init__(self, config: NnConfig):
        self.config = config
        # Caps so a guest that never drops cannot exhaust the host. Above the adapter's own
        # caps (1024 graphs, 256 contexts): an adapted guest hits those first, cheaply,
        # without lifting its model bytes into a host call that would fail anyway.
        self.graphs = Table("graph", 2048)
        self.contexts = Table("graph-execution-context", 1024)
        self.tensors = Table("tensor", 4096)
        self.errors = Table("error", 1 << 20)  # reporting an error must not fail
        # The body of the per-iteration calls, timed: host work apart from the binding.
        self.host_work = HostWork()

    def tables(self) -> dict[str, Table]:
        return {t.name: t for t in (self.graphs, self.contexts, self.tensors, self.errors)}

    def sizes(self) -> dict[str, int]:
        return {name: len(t) for name, t in self.tables().items()}

    def peaks(self) -> dict[str, int]:
        return {name: t.peak for name, t in self.tables().items()}

    # -- helpers --------------------------------------------------------------

    def _error(self, e: BackendError) -> ResourceHost:
        """An `error` resource with the WIT spelling of the neutral code."""
        return ResourceHost.own(self.errors.add((BACKEND_TO_WIT[e.code], e.message)), ERROR)

    def _guarded(self, fn: Callable[[], ResourceHost], tagged: bool) -> Any:
        """Run fn; turn any failure into an error resource (a guest gets no trap)."""
        try:
            ok = fn()
            return Variant("ok", ok) if tagged else ok
        except BackendError as e:  # NnError included: the host's own refusals
            err = e
        except Exception as e:  # a backend bug must still reach the guest as an error
            err = NnError("runtime_error", f"{type(e).__name__}: {e}")
        return Variant("err", self._error(err)) if tagged else self._error(err)

    @staticmethod
    def _rep(store: Any, handle: ResourceAny) -> int:
        return handle.to_host(store).rep

    # -- wasi:nn/tensor ---------------------------------------------------------

    def tensor_new(self, store: Any, dims: list[int], ty: str, data: bytes) -> ResourceHost:
        # The constructor cannot fail in the WIT: shape/type are checked in compute.
        return ResourceHost.own(self.tensors.add(Tensor(list(dims), ty, data)), TENSOR)

    def tensor_dimensions(self, store: Any, this: ResourceAny) -> list[int]:
        return list(self.tensors.get(self._rep(store, this)).dims)

    def tensor_ty(self, store: Any, this: ResourceAny) -> str:
        return self.tensors.get(self._rep(store, this)).ty

    def tensor_data(self, store: Any, this: ResourceAny) -> bytes:
        return self.tensors.get(self._rep(store, this)).data

    # -- wasi:nn/graph ------------------------------------------------------------

    def load(self, store: Any, builders: list[bytes], encoding: str, target: str) -> Variant:
        def run() -> ResourceHost:
            device = TARGETS.get(target)
            if device is None:
                raise NnError("unsupported_operation", f"execution target {target!r} not served")
            backend = backend_for_encoding(encoding)
            graph = backend.load(builders, encoding, device, self.config.threads)
            return ResourceHost.own(self.graphs.add(graph), GRAPH)

        return self._guarded(run, tagged=True)

    def load_by_name(self, store: Any, name: str) -> Variant:
        def run() -> ResourceHost:
            # load-by-name has no target: the round's device
            graph = self.config.graphs.load(name, self.config.device, self.config.threads)
            return ResourceHost.own(self.graphs.add(graph), GRAPH)

        return self._guarded(run, tagged=True)

    def init_execution_context(self, store: Any, this: ResourceAny) -> Variant:
        def run() -> ResourceHost:
            graph: Graph = self.graphs.get(self._rep(store, this))
            return ResourceHost.own(self.contexts.add(graph.new_context()), CONTEXT)

        return self._guarded(run, tagged=True)

    # -- wasi:nn/inference ------------------------------------------------------

    def compute(self, store: Any, this: ResourceAny, inputs: list[tuple[str, ResourceAny]]) -> Any:
        # Take ownership of every input tensor first: they left the guest's
        # table when lifted, and wasmtime will not run their destructor.
        taken = []
        for name, handle in inputs:
            rep = self._rep(store, handle)
            taken.append((name, self.tensors.items.pop(rep, None)))

        def run() -> Any:
            ctx: Context = self.contexts.get(self._rep(store, this))
            for name, tensor in taken:
                if tensor is None:
                    raise NnError("invalid_argument", f"input {name!r}: unknown tensor handle")
                ctx.set_input(name, _to_array(name, tensor))
            ctx.compute()
            outputs = []
            for i, name in enumerate(ctx.output_names):
                rep = self.tensors.add(_from_array(name, ctx.get_output(i)))
                outputs.append((name, ResourceHost.own(rep, TENSOR)))
            return outputs

        return self._guarded(run, tagged=False)

    # -- wasi-nn-bench:properties/query (experimental) -------------------------------

    def properties(self, store: Any, encoding: str, target: str) -> list[tuple[str, str]]:
        """Backend pairs for (encoding, target); one ("error", ...) pair when none serves."""
        try:
            device = TARGETS.get(target, target)
            return nn_properties.describe(encoding, device, self.config.threads)
        except BackendError as e:
            return [("error", f"{BACKEND_TO_WIT[e.code]}: {e.message}")]
        except Exception as e:  # a host bug must not trap the guest
            return [("error", f"runtime-error: {type(e).__name__}: {e}")]

    # -- wasi:nn/errors -----------------------------------------------------------

    def error_code(self, store: Any, this: ResourceAny) -> str:
        return self.errors.get(self._rep(store, this))[0]

    def error_data(self, store: Any, this: ResourceAny) -> str:
        return self.errors.get(self._rep(store, this))[1]

    # -- linking --------------------------------------------------------------------

    def define(self, linker: Linker) -> None:
        """Define the four wasi:nn instances in `linker` (after add_wasip2)."""
        stock_or_fast = fastlist.add_func if self.config.fast else _stock_add_func

        def add(inst: LinkerInstance, name: str, func: Callable[..., Any]) -> None:
            # the timer sits inside the binding: lifting/lowering stay outside it
            stock_or_fast(inst, name, self.host_work.timed(name, func))

        def dtor(table: Table) -> Callable[[Any, int], None]:
            return lambda _store, rep: table.items.pop(rep, None)

        with linker.root() as root:
            with root.add_instance(f"wasi:nn/tensor@{NN_VERSION}") as inst:
                inst.add_resource("tensor", ResourceType.host(TENSOR), dtor(self.tensors))
                add(inst, "[constructor]tensor", self.tensor_new)
                add(inst, "[method]tensor.dimensions", self.tensor_dimensions)
                add(inst, "[method]tensor.ty", self.tensor_ty)
                add(inst, "[method]tensor.data", self.tensor_data)
            with root.add_instance(f"wasi:nn/errors@{NN_VERSION}") as inst:
                inst.add_resource("error", ResourceType.host(ERROR), dtor(self.errors))
                add(inst, "[method]error.code", self.error_code)
                add(inst, "[method]error.data", self.error_data)
            with root.add_instance(f"wasi:nn/inference@{NN_VERSION}") as inst:
                inst.add_resource(
                    "graph-execution-context", ResourceType.host(CONTEXT), dtor(self.contexts)
                )
                add(inst, "[method]graph-execution-context.compute", self.compute)
            with root.add_instance(f"wasi:nn/graph@{NN_VERSION}") as inst:
                inst.add_resource("graph", ResourceType.host(GRAPH), dtor(self.graphs))
                add(inst, "[method]graph.init-execution-context", self.init_execution_context)
                add(inst, "load", self.load)
                add(inst, "load-by-name", self.load_by_name)
            # Not imported by our drivers (WIT imports are not optional): a guest that
            # imports it runs only on this host.
            with root.add_instance(PROPERTIES_QUERY) as inst:
                inst.add_func("properties", self.properties)


def _stock_add_func(inst: LinkerInstance, name: str, func: Callable[..., Any]) -> None:
    inst.add_func(name, func)


def _to_array(name: str, t: Tensor) -> np.ndarray:
    dtype = WIT_DTYPES.get(t.ty)
    if dtype is None:
        raise NnError("unsupported_operation", f"input {name!r}: tensor type {t.ty} not served")
    if len(t.dims) > MAX_DIMS:  # numpy cannot shape more: an error, not a ValueError
        raise NnError("invalid_argument", f"input {name!r}: {len(t.dims)} dims, at most {MAX_DIMS}")
    want = math.prod(t.dims) * dtype.itemsize  # Python ints: u32 dims cannot wrap to a match
    if want != len(t.data):
        raise NnError(
            "invalid_argument",
            f"input {name!r}: {len(t.data)} bytes for {t.ty} dims {t.dims} ({want} expected)",
        )
    # bytearray: a writeable array (OpenVINO refuses read-only input buffers)
    return np.frombuffer(bytearray(t.data), dtype=dtype).reshape(t.dims)


def _from_array(name: str, a: np.ndarray) -> Tensor:
    ty = DTYPE_WIT.get(a.dtype)
    if ty is None:
        raise NnError("unsupported_operation", f"output {name!r}: dtype {a.dtype} has no WIT type")
    return Tensor(list(a.shape), ty, np.ascontiguousarray(a).tobytes())


# -- running a component --------------------------------------------------------


@dataclass
class ComponentRun:
    exit_code: int
    host_phases: dict[str, int]  # compile, instantiate (ns)
    state: NnState
    trap: str | None = None  # a trap other than a WASI exit


_FAST_PROBLEM: list[str | None] = []


def fast_path_problem() -> str | None:
    """Why the fast list<u8> path is off here (None: it is on). Checked once."""
    if not _FAST_PROBLEM:
        _FAST_PROBLEM.append(fastlist.layout_problem())
    return _FAST_PROBLEM[0]


def run_component(
    wasm: Path | bytes,
    argv: Sequence[str],
    preopen: Path,
    config: NnConfig,
    stdout: Path | None = None,
    stderr: Path | None = None,
) -> ComponentRun:
    """Compile, link and run a wasi:cli command component with our wasi:nn."""
    engine = Engine()
    name = "guest" if isinstance(wasm, bytes) else wasm.name
    binary = wasm if isinstance(wasm, bytes) else wasm.read_bytes()  # not timed (as preview1)
    t0 = time.perf_counter_ns()
    try:
        component = Component(engine, binary)
    except WasmtimeError as e:
        raise CellFailed(f"compile {name}: {_trap_reason(str(e))}") from e
    t1 = time.perf_counter_ns()
    linker = Linker(engine)
    linker.add_wasip2()
    state = NnState(config)
    state.define(linker)
    store = Store(engine)
    wasi = WasiConfig()
    wasi.argv = list(argv)
    wasi.preopen_dir(str(preopen), ".")
    if stdout is not None:
        wasi.stdout_file = str(stdout)
    if stderr is not None:
        wasi.stderr_file = str(stderr)
    store.set_wasi(wasi)
    t2 = time.perf_counter_ns()
    try:
        instance = linker.instantiate(store, component)
    except WasmtimeError as e:
        raise CellFailed(f"instantiate {name}: {_trap_reason(str(e))}") from e
    t3 = time.perf_counter_ns()
    phases = {"compile": t1 - t0, "instantiate": t3 - t2}
    run_iface = instance.get_export_index(store, WASI_RUN)
    run_idx = run_iface and instance.get_export_index(store, "run", run_iface)
    run = run_idx and instance.get_func(store, run_idx)
    if not run:
        raise CellFailed(f"the guest exports no {WASI_RUN}#run (not a command component)")
    try:
        result = run(store)
        run.post_return(store)
        code = 0 if isinstance(result, Variant) and result.tag == "ok" else 1
        return ComponentRun(code, phases, state)
    except ExitTrap as e:
        return ComponentRun(e.code, phases, state)
    except WasmtimeError as e:
        return ComponentRun(-1, phases, state, trap=_trap_reason(str(e)))
    except Exception as e:  # a host function's own bug, re-raised by wasmtime-py
        return ComponentRun(-1, phases, state, trap=f"host {type(e).__name__}: {e}")


def _trap_reason(text: str) -> str:
    """The cause of a trap: wasmtime puts it after the backtrace ("Caused by:")."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if "Caused by:" in lines:
        cause = lines[lines.index("Caused by:") + 1 :]
        return "; ".join(cause)
    return lines[0] if lines else "trap"


def input_over_cap(job: CellJob) -> str | None:
    for spec in job.inputs:
        values = spec.nbytes + len(spec.shape)  # data + dims cross in one call
        if values > HOSTCALL_CAP:
            return (
                f"input {spec.name!r} is {spec.nbytes} bytes: wasmtime-py lifts at most "
                f"{HOSTCALL_CAP} values guest->host per host call (tensor constructor)"
            )
    return None


def _model_values(paths: Sequence[str]) -> int:
    return sum(Path(p).stat().st_size for p in paths) + len(paths)


def run_round(job: CellJob) -> RoundResult:
    """One round of a component/adapted cell on wasmtime-py."""
    reason = input_over_cap(job)
    if reason:
        raise CellUnsupported(reason)
    notes: dict[str, str] = {}
    paths, _ = job.model.files_for(job.cell.backend)
    if job.load_mode == "bytes" and _model_values(paths) > HOSTCALL_CAP:
        job = dataclasses.replace(job, load_mode="name")
        notes["load_mode_reason"] = f"model over the {HOSTCALL_CAP}-value host-call cap"
    run = guest_io.prepare(job)
    problem = fast_path_problem()
    notes["list_u8"] = "fast" if problem is None else f"stock ({problem})"
    names = guest_io.GRAPH_FILES[run.encoding]
    named = NamedGraph(run.encoding, tuple(str(run.graph_dir / n) for n in names))
    graphs = GraphRegistry({guest_io.GRAPH_NAME: named})
    config = NnConfig(job.threads, job.cell.device, graphs, fast=problem is None)
    out = run_component(run.wasm, run.argv, run.preopen, config, run.stdout, run.stderr)
    if out.trap is not None:
        if "hostcalls has been exhausted" in out.trap:
            raise CellUnsupported(f"host-call cap ({HOSTCALL_CAP} values): {out.trap}")
        raise CellFailed(f"trap: {out.trap} | {telling_file(run.stderr, 'driver')}")
    if out.exit_code != 0:
        raise _exit_error(out.exit_code, telling_file(run.stderr, "driver"))
    result = guest_io.collect(job, run)
    # host work apart from the guest-timed phases (host_set_input, ...: docs/results.md)
    result.per_iteration.update(
        out.state.host_work.per_iteration(job.iterations, guest_io.measured_computes(job))
    )
    result.host_phases.update(out.host_phases)
    result.notes.update(notes)
    result.notes.update(nn_properties.host_notes())
    result.peak_rss_kb = peak_rss_kb()
    return result


def _exit_error(code: int, stderr: str) -> Exception:
    """A failed wasi-nn call the backend cannot serve is a reason, not a failure."""
    why = f"guest exit {code}: {stderr}"
    if "(unsupported_operation)" in stderr or "(invalid_encoding)" in stderr:
        return CellUnsupported(why)
    return CellFailed(why)
