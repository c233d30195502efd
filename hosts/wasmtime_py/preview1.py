"""The legacy witx wasi-nn ABI (`wasi_ephemeral_nn`) in Python, for wasmtime-py.

`Preview1Nn` defines the six imports on a `wasmtime.Linker` (plus the
experimental `properties`, docs/properties.md); each one reads its
arguments straight from guest memory (numpy views; set_input copies the
tensor data, as wasmtime does), calls a backend
from `hosts.backends`, and answers with a witx errno (`hosts.abi.witx`). A guest's
bad argument never raises: every pointer/length is bounds-checked in Python
ints (no overflow), handles are checked, and anything unexpected becomes
runtime_error with the message kept in `last_error`.

`run_round` runs the prebuilt preview1 driver for one CellJob.
"""

from __future__ import annotations

import ctypes
import math
import struct
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import wasmtime

from contracts.dtypes import DTYPES
from contracts.jobs import CellFailed, CellJob, RoundResult, peak_rss_kb
from contracts.logtail import telling_file
from hosts import guest_io, properties
from hosts.abi import MAX_DIMS, NnError, witx
from hosts.backends import Backend, BackendError, Context, Graph, backend_for_encoding
from hosts.graph_names import GraphRegistry
from hosts.wasmtime_py.host_work import HostWork

I32 = wasmtime.ValType.i32()


def _u32(value: int) -> int:
    return value & witx.U32_MAX  # i32 params arrive signed


class Preview1Nn:
    """wasi_ephemeral_nn for one store. Call `define(linker)` before instantiating
    and `bind(store, memory)` before the guest runs."""

    # The witx ABI cannot free a graph or a context, so a guest that loads in a
    # loop would grow the host without end: past these, load/load_by_name/
    # init_execution_context answer `busy` (docs/reliability.md).
    MAX_GRAPHS = 256
    MAX_CONTEXTS = 1024

    def __init__(
        self,
        device: str = "cpu",
        threads: int = 1,
        preopen: Path | None = None,
        backend_for: Callable[[str], Backend] = backend_for_encoding,
    ):
        self.device = device  # for load_by_name, which carries no target
        self.threads = threads
        self.graphs_by_name = GraphRegistry(folder=preopen)  # names are paths in the preopen
        self._backend_for = backend_for
        self._backends: dict[str, Backend] = {}
        self.graphs: list[Graph] = []
        self.contexts: list[Context] = []
        self.last_error = ""  # "<call>: <code>: <message>" of the last failed call
        self._store: wasmtime.Store | None = None
        self._memory: wasmtime.Memory | None = None
        self._view: np.ndarray | None = None
        self._view_checked = False  # the view's size was checked during this ABI call
        self.host_work = HostWork()  # the body of set_input/compute/get_output, timed

    # -- wiring ------------------------------------------------------------

    def define(self, linker: wasmtime.Linker) -> None:
        for name, nparams in witx.SIGNATURES.items():
            ty = wasmtime.FuncType([I32] * nparams, [I32])
            impl = self.host_work.timed(name, getattr(self, "_" + name))
            linker.define_func(witx.MODULE, name, ty, self._entry(name, impl))

    def bind(self, store: wasmtime.Store, memory: wasmtime.Memory | None) -> None:
        self._store, self._memory, self._view = store, memory, None
        self._view_checked = False

    def _entry(self, call: str, impl: Callable[..., int | None]) -> Callable[..., int]:
        def entry(*args: int) -> int:
            self._view_checked = False  # the guest may have grown its memory since
            try:
                impl(*args)
                return 0
            except NnError as e:
                return self._fail(call, e.code, str(e))
            except BackendError as e:
                return self._fail(call, e.code, e.message)
            except Exception as e:  # a host bug must not become a trap in the guest
                return self._fail(call, "runtime_error", f"{type(e).__name__}: {e}")

        return entry

    def _fail(self, call: str, code: str, message: str) -> int:
        self.last_error = f"{call}: {code}: {message}"
        return witx.ERRNO[code]

    # -- guest memory --------------------------------------------------------

    def _mem(self) -> np.ndarray:
        """A uint8 view of the whole linear memory (rebuilt when it grows).

        Its size is read once per ABI call: C calls are the dear part here."""
        if self._view_checked and self._view is not None:
            return self._view
        if self._memory is None or self._store is None:
            raise NnError("missing_memory", "the guest exports no memory")
        size = self._memory.data_len(self._store)
        if self._view is None or self._view.size != size:
            addr = ctypes.addressof(self._memory.data_ptr(self._store).contents)
            self._view = np.frombuffer((ctypes.c_ubyte * size).from_address(addr), np.uint8)
        self._view_checked = True
        return self._view

    def _region(self, ptr: int, length: int, what: str) -> np.ndarray:
        """mem[ptr:ptr+length], bounds-checked (ptr, length as u32)."""
        mem = self._mem()
        # A negative length is an i32 argument (reinterpret as u32); a length the
        # host computed (ndims * 4, count * 8) may exceed 2^32 and must not wrap.
        ptr, length = _u32(ptr), _u32(length) if length < 0 else length
        if ptr + length > mem.size:
            raise NnError(
                "invalid_argument",
                f"{what} [{ptr:#x}, +{length}) is outside guest memory ({mem.size} bytes)",
            )
        return mem[ptr : ptr + length]

    def _write_u32(self, ptr: int, value: int, what: str) -> None:
        struct.pack_into("<I", self._region(ptr, 4, what), 0, value)

    def _check_out(self, ptr: int, what: str) -> None:
        self._region(ptr, 4, what)  # validate before doing the work

    # -- handles -------------------------------------------------------------

    def _graph(self, handle: int) -> Graph:
        handle = _u32(handle)
        if handle >= len(self.graphs):
            raise NnError("invalid_argument", f"no graph with handle {handle}")
        return self.graphs[handle]

    def _context(self, handle: int) -> Context:
        handle = _u32(handle)
        if handle >= len(self.contexts):
            raise NnError("invalid_argument", f"no execution context with handle {handle}")
        return self.contexts[handle]

    def _backend(self, encoding: str) -> Backend:
        if encoding not in self._backends:
            self._backends[encoding] = self._backend_for(encoding)
        return self._backends[encoding]

    # -- the ABI ---------------------------------------------------------------

    def _room(self, table: list, limit: int, what: str) -> None:
        if len(table) >= limit:
            raise NnError("busy", f"{limit} {what} already live: the host's limit")

    def _load(self, builders: int, n: int, encoding: int, target: int, out_graph: int) -> None:
        self._check_out(out_graph, "out graph pointer")
        self._room(self.graphs, self.MAX_GRAPHS, "graphs")
        table = self._region(builders, _u32(n) * witx.BUILDER_SIZE, "builder array")
        pairs = np.frombuffer(table, dtype="<u4").reshape(-1, 2) if len(table) else []
        views = [
            self._region(int(p), int(size), f"builder {i}") for i, (p, size) in enumerate(pairs)
        ]
        enc = _u32(encoding)
        if enc >= len(witx.ENCODINGS):
            raise NnError("invalid_encoding", f"unknown graph_encoding {enc}")
        tgt = _u32(target)
        if tgt >= len(witx.TARGETS):
            raise NnError("invalid_argument", f"unknown execution_target {tgt}")
        device = witx.TARGETS[tgt]
        if device == "tpu":
            raise NnError("unsupported_operation", "no backend runs on a TPU")
        backend = self._backend(witx.ENCODINGS[enc])
        graph = backend.load(views, witx.ENCODINGS[enc], device, self.threads)
        self.graphs.append(graph)
        self._write_u32(out_graph, len(self.graphs) - 1, "out graph pointer")

    def _load_by_name(self, name_ptr: int, name_len: int, out_graph: int) -> None:
        self._check_out(out_graph, "out graph pointer")
        self._room(self.graphs, self.MAX_GRAPHS, "graphs")
        raw = bytes(self._region(name_ptr, name_len, "name"))
        try:
            name = raw.decode()
        except UnicodeDecodeError:
            raise NnError("invalid_argument", f"graph name {raw[:40]!r} is not UTF-8") from None
        graph = self.graphs_by_name.load(name, self.device, self.threads, self._backend)
        self.graphs.append(graph)
        self._write_u32(out_graph, len(self.graphs) - 1, "out graph pointer")

    def _init_execution_context(self, graph: int, out_ctx: int) -> None:
        self._check_out(out_ctx, "out context pointer")
        self._room(self.contexts, self.MAX_CONTEXTS, "execution contexts")
        ctx = self._graph(graph).new_context()
        self.contexts.append(ctx)
        self._write_u32(out_ctx, len(self.contexts) - 1, "out context pointer")

    def _set_input(self, ctx: int, index: int, tensor_ptr: int) -> None:
        context = self._context(ctx)
        record = self._region(tensor_ptr, witx.TENSOR_SIZE, "tensor")
        dims_ptr, ndims, ttype, data_ptr, data_len = struct.unpack_from("<IIB3xII", record)
        if ndims > MAX_DIMS:  # numpy cannot shape more (a ValueError, not an errno)
            raise NnError("invalid_argument", f"tensor has {ndims} dims, at most {MAX_DIMS}")
        dims_bytes = self._region(dims_ptr, ndims * 4, "tensor dims")
        data = self._region(data_ptr, data_len, "tensor data")
        if ttype >= len(witx.TENSOR_TYPES):
            raise NnError("invalid_argument", f"unknown tensor_type {ttype}")
        dtype = np.dtype(DTYPES[witx.TENSOR_TYPES[ttype]])
        shape = struct.unpack_from(f"<{ndims}I", dims_bytes)
        want = math.prod(shape) * dtype.itemsize
        if want != data_len:
            raise NnError(
                "invalid_argument",
                f"tensor dims {list(shape)} x {dtype} need {want} bytes, data has {data_len}",
            )
        # A copy, as wasmtime's witx host makes: the guest may reuse its buffer
        # (e.g. for the next input) before compute, and the tensor must not change.
        context.set_input(_u32(index), data.view(dtype).reshape(shape).copy())

    def _compute(self, ctx: int) -> None:
        self._context(ctx).compute()

    def _get_output(self, ctx: int, index: int, out_ptr: int, out_max: int, written: int) -> None:
        context = self._context(ctx)
        self._check_out(written, "out written pointer")
        buf = self._region(out_ptr, out_max, "output buffer")
        array = context.get_output(_u32(index))
        raw = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        if raw.size > buf.size:
            raise NnError(
                "too_large", f"output {_u32(index)} has {raw.size} bytes, buffer {buf.size}"
            )
        buf[: raw.size] = raw  # the one copy: straight into the guest's buffer
        self._write_u32(written, raw.size, "out written pointer")

    def _properties(self, encoding: int, target: int, buf: int, buf_max: int, written: int) -> None:
        """Experimental: key\0value\0... pairs describing the backend for (encoding, target).

        too_large leaves the needed size in *written (docs/properties.md)."""
        self._check_out(written, "out written pointer")
        out = self._region(buf, buf_max, "properties buffer")
        enc, tgt = _u32(encoding), _u32(target)
        if enc >= len(witx.ENCODINGS):
            raise NnError("invalid_encoding", f"unknown graph_encoding {enc}")
        if tgt >= len(witx.TARGETS):
            raise NnError("invalid_argument", f"unknown execution_target {tgt}")
        data = properties.pack(
            properties.describe(witx.ENCODINGS[enc], witx.TARGETS[tgt], self.threads)
        )
        if len(data) > out.size:
            self._write_u32(written, len(data), "out written pointer")
            raise NnError("too_large", f"properties need {len(data)} bytes, buffer {out.size}")
        # Data first, then the count (as get_output): a buffer that overlaps
        # `written` must not clobber the count the guest reads.
        out[: len(data)] = np.frombuffer(data, np.uint8)
        self._write_u32(written, len(data), "out written pointer")


# -- one round of the preview1 driver ---------------------------------------------


def _summary(error: Exception) -> str:
    """wasmtime's multi-line error as one line: the head and the root cause."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    if lines[0].startswith("error while executing"):  # a trap: its cause says what
        return lines[-1]
    return lines[0] if len(lines) == 1 else f"{lines[0]}: {lines[-1]}"


def wasi_config(run: guest_io.GuestRun) -> wasmtime.WasiConfig:
    wasi = wasmtime.WasiConfig()
    wasi.argv = run.argv
    wasi.preopen_dir(str(run.preopen), ".")
    wasi.stdout_file = str(run.stdout)
    wasi.stderr_file = str(run.stderr)
    return wasi


def run_round(job: CellJob) -> RoundResult:
    run = guest_io.prepare(job, "preview1")
    engine = wasmtime.Engine()
    wasm = run.wasm.read_bytes()
    t0 = time.perf_counter_ns()
    try:
        module = wasmtime.Module(engine, wasm)
    except wasmtime.WasmtimeError as e:
        raise CellFailed(f"compile {run.wasm.name}: {_summary(e)}") from e
    t1 = time.perf_counter_ns()

    nn = Preview1Nn(job.cell.device, job.threads, preopen=run.preopen)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    nn.define(linker)
    store = wasmtime.Store(engine)
    store.set_wasi(wasi_config(run))
    t2 = time.perf_counter_ns()
    try:
        instance = linker.instantiate(store, module)
    except (wasmtime.WasmtimeError, wasmtime.Trap) as e:
        raise CellFailed(f"instantiate {run.wasm.name}: {_summary(e)}") from e
    t3 = time.perf_counter_ns()
    exports = instance.exports(store)
    memory = exports.get("memory")
    nn.bind(store, memory if isinstance(memory, wasmtime.Memory) else None)

    start = exports.get("_start")
    if not isinstance(start, wasmtime.Func):  # a reactor or a library, not a WASI command
        raise CellFailed(f"{run.wasm.name} exports no _start function (not a WASI command)")
    code = 0
    try:
        start(store)
    except wasmtime.ExitTrap as e:
        code = e.code
    except (wasmtime.Trap, wasmtime.WasmtimeError) as e:
        raise CellFailed(f"guest trapped: {_summary(e)}") from e
    if code != 0:
        detail = telling_file(run.stderr, "driver", 3) or f"exit {code}"
        host = f" [host: {nn.last_error}]" if nn.last_error else ""
        raise CellFailed(f"guest exited {code}: {detail}{host}")

    result = guest_io.collect(job, run)
    # host work apart from the guest-timed phases (host_set_input, ...: docs/results.md)
    result.per_iteration |= nn.host_work.per_iteration(
        job.iterations, guest_io.measured_computes(job)
    )
    result.notes |= properties.host_notes()
    result.host_phases |= {"compile": t1 - t0, "instantiate": t3 - t2}
    result.peak_rss_kb = peak_rss_kb()
    return result
