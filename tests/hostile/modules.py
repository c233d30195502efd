"""A generated set of hostile `wasi_ephemeral_nn` guests and an in-process runner.

Every module is a WASI command built on the conformance prelude
(tests/conformance/abi_cases.py: the same memory map, model and setup helpers
$graph/$ctx/$ready/$computed); its `_start` exits with the errno of the attack
(or traps). The attacks:

- out-of-bounds pointers and lengths up to 2^32-1, for every pointer and length
  argument and every pointer/length field of the tensor and builder records;
- buffers that overlap the tensor record, the builder table, the out pointers;
- handles never issued, and handles of the wrong kind (a graph id as a context);
- calls out of order: compute before set_input, get_output before compute, twice;
- resource exhaustion: 100,000 loads / execution contexts in one guest;
- memory growth between calls (inputs and outputs in freshly grown pages).

`run_preview1` runs a module on our wasmtime-py witx host in this process and
classifies the outcome: "errno:<name>", "trap:<cause>", or "escaped:<exception>"
(a Python exception that left a host function: always a bug).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import wasmtime

from hosts.abi import NnError
from hosts.abi.witx import ERRNOS
from hosts.backends.base import BackendError
from hosts.wasmtime_py.preview1 import Preview1Nn
from tests.conformance import abi_cases
from tests.conformance.abi_cases import (
    BUILDERS,
    DATA,
    DIMS,
    HUGE,
    MEMORY_BYTES,
    MODEL,
    NAME,
    OOB,
    OUT_CTX,
    OUT_GRAPH,
    OUT_WRITTEN,
    OUTBUF,
    TENSOR,
    Model,
    _c,
)

ANY = frozenset(f"errno:{e}" for e in ERRNOS) | {"trap"}  # what a hostile guest may get
BAD = frozenset({"errno:invalid_argument"})
# Pointer values past the end of the 2-page memory, or wrapping past 2^32.
BAD_POINTERS = (OOB, OOB + 1, MEMORY_BYTES - 1, 0x7FFFFFFF, 0x80000000, HUGE)
# 0x20000001 x 8 (builders) and 0x40000001 x 4 (dims) wrap to 8 and 4 bytes in u32 arithmetic
BAD_LENGTHS = (MEMORY_BYTES, 0x20000001, 0x40000001, 0x7FFFFFFF, 0x80000000, HUGE)
NEVER_ISSUED = (1, 99, 0x7FFFFFFF, 0x80000000, HUGE)
DEADLINE_S = 20.0  # a guest still running after this traps (epoch interruption)


@dataclass(frozen=True)
class Hostile:
    name: str
    body: str  # WAT instructions leaving an i32 (the exit status)
    allowed: frozenset[str]  # outcomes accepted from our preview1 host
    grow: bool = False  # memory may grow (no maximum)
    heavy: bool = False  # 100,000 calls: the slow ones

    def case(self) -> abi_cases.Case:
        return abi_cases.Case(self.name, self.body, "success")


def _call(fn: str, *args: str | int) -> str:
    return f"(call ${fn} " + " ".join(a if isinstance(a, str) else _c(a) for a in args) + ")"


def _store(addr: int, value: int | str, op: str = "i32.store") -> str:
    v = value if isinstance(value, str) else _c(value)
    return f"({op} {_c(addr)} {v})"


GRAPH, CTX, READY, COMPUTED = "(call $graph)", "(call $ctx)", "(call $ready)", "(call $computed)"
NB, ENC = "(global.get $nb)", "(global.get $enc)"


def _pointer_cases() -> Iterator[Hostile]:
    """Every pointer and length argument and record field, out of bounds."""
    for p in BAD_POINTERS:
        yield Hostile(f"load_builders_{p:#x}", _call("load", p, NB, ENC, 0, OUT_GRAPH), BAD)
        yield Hostile(f"load_out_{p:#x}", _call("load", BUILDERS, NB, ENC, 0, p), BAD)
        yield Hostile(f"load_builder_ptr_{p:#x}", _store(BUILDERS, p)
                      + _call("load", BUILDERS, NB, ENC, 0, OUT_GRAPH), BAD)  # fmt: skip
        yield Hostile(f"by_name_ptr_{p:#x}", _call("load_by_name", p, 5, OUT_GRAPH), BAD)
        yield Hostile(f"by_name_out_{p:#x}", _call("load_by_name", NAME, 5, p), BAD)
        yield Hostile(f"init_out_{p:#x}", _call("init_execution_context", GRAPH, p), BAD)
        yield Hostile(f"set_input_tensor_{p:#x}", _call("set_input", CTX, 0, p), BAD)
        for off, field_name in ((0, "dims_ptr"), (12, "data_ptr")):
            yield Hostile(f"set_input_{field_name}_{p:#x}", _store(TENSOR + off, p)
                          + _call("set_input", CTX, 0, TENSOR), BAD)  # fmt: skip
        yield Hostile(
            f"get_output_buf_{p:#x}", _call("get_output", COMPUTED, 0, p, 64, OUT_WRITTEN), BAD
        )
        yield Hostile(
            f"get_output_written_{p:#x}", _call("get_output", COMPUTED, 0, OUTBUF, 64, p), BAD
        )
    for n in BAD_LENGTHS:
        yield Hostile(f"load_count_{n:#x}", _call("load", BUILDERS, n, ENC, 0, OUT_GRAPH), BAD)
        yield Hostile(f"load_builder_len_{n:#x}", _store(BUILDERS + 4, n)
                      + _call("load", BUILDERS, NB, ENC, 0, OUT_GRAPH), BAD)  # fmt: skip
        yield Hostile(f"by_name_len_{n:#x}", _call("load_by_name", NAME, n, OUT_GRAPH), BAD)
        for off, field_name in ((4, "dims_len"), (16, "data_len")):
            yield Hostile(f"set_input_{field_name}_{n:#x}", _store(TENSOR + off, n)
                          + _call("set_input", CTX, 0, TENSOR), BAD)  # fmt: skip
        yield Hostile(
            f"get_output_max_{n:#x}", _call("get_output", COMPUTED, 0, OUTBUF, n, OUT_WRITTEN), BAD
        )


def _handle_cases() -> Iterator[Hostile]:
    """Handles never issued; a handle of the other kind. (The witx ABI has no
    drop, so a preview1 handle cannot go stale; see the component tests.)"""
    for h in NEVER_ISSUED:
        yield Hostile(f"init_graph_{h:#x}", _call("init_execution_context", h, OUT_CTX), BAD)
        yield Hostile(f"set_input_ctx_{h:#x}", _call("set_input", h, 0, TENSOR), BAD)
        yield Hostile(f"compute_ctx_{h:#x}", _call("compute", h), BAD)
        yield Hostile(
            f"get_output_ctx_{h:#x}", _call("get_output", h, 0, OUTBUF, 64, OUT_WRITTEN), BAD
        )
        yield Hostile(f"set_input_index_{h:#x}", _call("set_input", CTX, h, TENSOR), BAD)
        yield Hostile(
            f"get_output_index_{h:#x}",
            _call("get_output", COMPUTED, h, OUTBUF, 64, OUT_WRITTEN),
            BAD,
        )
    # graph 0 exists, context 0 does not: a graph id used as a context
    yield Hostile("graph_id_as_context", f"(drop {GRAPH})" + _call("compute", 0), BAD)
    yield Hostile("init_before_any_load", _call("init_execution_context", 0, OUT_CTX), BAD)


def _overlap_cases() -> Iterator[Hostile]:
    ok_or_bad = frozenset({"errno:success", "errno:invalid_argument"})
    # data = the tensor record itself (16 bytes = [1, 4] f32 of record bytes)
    yield Hostile("data_overlaps_tensor", _store(TENSOR + 12, TENSOR)
                  + _call("set_input", CTX, 0, TENSOR), ok_or_bad)  # fmt: skip
    # dims = the tensor record: dims [TENSOR, 2] do not match 16 bytes of data
    yield Hostile("dims_overlap_tensor", _store(TENSOR, TENSOR)
                  + _call("set_input", CTX, 0, TENSOR), BAD)  # fmt: skip
    # the output buffer covers `written`: the host writes the data, then the count
    yield Hostile(
        "output_covers_written",
        _call("get_output", COMPUTED, 0, OUT_WRITTEN - 4, 64, OUT_WRITTEN)
        + f"(drop) (if (i32.ne (i32.load {_c(OUT_WRITTEN)}) {_c(12)}) (then (return {_c(50)})))"
        + _c(0),
        frozenset({"errno:success"}),
    )
    # the output lands on the tensor record and the input data, then compute again
    for target in (TENSOR, DATA):
        yield Hostile(
            f"output_over_{target:#x}_then_compute",
            f"(local.set $c {COMPUTED})"
            + _call("must", _call("get_output", "(local.get $c)", 0, target, 64, OUT_WRITTEN))
            + _call("compute", "(local.get $c)"),
            frozenset({"errno:success", "errno:runtime_error"}),
        )
    # the graph handle written into the model bytes, the builder table on itself
    yield Hostile("out_graph_in_model", _call("load", BUILDERS, NB, ENC, 0, MODEL + 16),
                  frozenset({"errno:success"}))  # fmt: skip
    yield Hostile("builder_is_its_table", _store(BUILDERS, BUILDERS) + _store(BUILDERS + 4, 8)
                  + _call("load", BUILDERS, 1, ENC, 0, OUT_GRAPH), BAD)  # fmt: skip
    yield Hostile("dims_are_data", _store(TENSOR, DATA) + _call("set_input", CTX, 0, TENSOR), BAD)


MANY_DIMS = 0x8000  # 70 dims of 1 are written here: more than numpy can shape (64)


def _dims_cases() -> Iterator[Hostile]:
    ones = (
        f"(local.set $i {_c(0)}) (loop $fill (i32.store (i32.add {_c(MANY_DIMS)} (local.get $i))"
        f" {_c(1)}) (local.set $i (i32.add (local.get $i) {_c(4)}))"
        f" (br_if $fill (i32.lt_u (local.get $i) {_c(280)})))"
    )
    # 70 dims of 1 and 4 bytes of f32: the byte count matches, the rank does not
    yield Hostile(
        "set_input_70_dims",
        ones
        + _store(TENSOR, MANY_DIMS)
        + _store(TENSOR + 4, 70)
        + _store(TENSOR + 16, 4)
        + f"(local.set $c {CTX})"
        + f"(if (local.tee $g {_call('set_input', '(local.get $c)', 0, TENSOR)})"
        + " (then (return (local.get $g))))"
        + _call("compute", "(local.get $c)"),
        BAD,
    )
    # dims whose product is 2^64: wraps to 0 in 64-bit arithmetic; no data
    yield Hostile(
        "set_input_dims_product_wraps",
        _store(DIMS, 0x10000)
        + _store(DIMS + 4, 0x10000)
        + _store(DIMS + 8, 0x10000)
        + _store(DIMS + 12, 0x10000)
        + _store(TENSOR + 4, 4)
        + _store(TENSOR + 16, 0)
        + f"(local.set $c {CTX})"
        + f"(if (local.tee $g {_call('set_input', '(local.get $c)', 0, TENSOR)})"
        + " (then (return (local.get $g))))"
        + _call("compute", "(local.get $c)"),
        BAD,
    )


def _order_cases() -> Iterator[Hostile]:
    rt = frozenset({"errno:runtime_error"})
    yield Hostile("compute_before_set_input", _call("compute", CTX), rt)
    yield Hostile(
        "get_output_before_compute", _call("get_output", READY, 0, OUTBUF, 64, OUT_WRITTEN), rt
    )
    yield Hostile("compute_twice", f"(local.set $c {COMPUTED})" + _call("compute", "(local.get $c)"),
                  frozenset({"errno:success"}))  # fmt: skip
    yield Hostile(
        "set_input_twice_then_compute",
        f"(local.set $c {READY})"
        + _call("must", _call("set_input", "(local.get $c)", 0, TENSOR))
        + _call("compute", "(local.get $c)"),
        frozenset({"errno:success"}),
    )
    yield Hostile("outputs_of_another_context", f"(drop {COMPUTED})"
                  + _call("get_output", CTX, 0, OUTBUF, 64, OUT_WRITTEN), rt)  # fmt: skip


def _repeat(n: int, call: str) -> str:
    """Call n times; leave the last errno. $i counts, $c holds the last result."""
    return (
        f"(local.set $i {_c(n)}) (loop $again (local.set $c {call})"
        f" (local.set $i (i32.sub (local.get $i) {_c(1)}))"
        f" (br_if $again (local.get $i))) (local.get $c)"
    )


LOADS = 100_000


def _exhaustion_cases() -> Iterator[Hostile]:
    busy = frozenset({"errno:busy"})
    yield Hostile(
        f"load_x{LOADS}",
        _repeat(LOADS, _call("load", BUILDERS, NB, ENC, 0, OUT_GRAPH)),
        busy,
        heavy=True,
    )
    yield Hostile(f"load_by_name_x{LOADS}", _repeat(LOADS, _call("load_by_name", NAME, 5, OUT_GRAPH)), busy,
                  heavy=True)  # fmt: skip
    yield Hostile(f"init_x{LOADS}", f"(local.set $g {GRAPH})"
                  + _repeat(LOADS, _call("init_execution_context", "(local.get $g)", OUT_CTX)), busy, heavy=True)  # fmt: skip
    yield Hostile(f"failing_set_input_x{LOADS}", f"(local.set $g {CTX})"
                  + _repeat(LOADS, _call("set_input", "(local.get $g)", 9, TENSOR)), BAD, heavy=True)  # fmt: skip


PAGE = 65536


def _growth_cases() -> Iterator[Hostile]:
    """Memory grows between calls; inputs and outputs live in the new pages."""
    grown = 4 * PAGE  # first byte of the pages grown below (memory starts at 2 pages)
    copy_input = (
        f"(memory.copy {_c(grown)} {_c(DATA)} {_c(16)})"  # the input, moved into new memory
        + _store(TENSOR + 12, grown)
    )
    check = (  # the output equals the one computed in the original pages
        f"(if (i64.ne (i64.load {_c(grown + 64)}) (i64.load {_c(OUTBUF)}))"
        f" (then (return {_c(51)})))"
        f"(if (i32.ne (i32.load {_c(grown + 72)}) (i32.load {_c(OUTBUF + 8)}))"
        f" (then (return {_c(52)})))"
    )
    body = (
        _call("must", _call("get_output", COMPUTED, 0, OUTBUF, 64, OUT_WRITTEN))
        + f"(local.set $c {CTX})"
        + f"(drop (memory.grow {_c(4)}))"  # grown between init and set_input
        + copy_input
        + _call("must", _call("set_input", "(local.get $c)", 0, TENSOR))
        + f"(drop (memory.grow {_c(16)}))"  # between set_input and compute
        + _call("must", _call("compute", "(local.get $c)"))
        + f"(drop (memory.grow {_c(64)}))"  # between compute and get_output
        + _call("must", _call("get_output", "(local.get $c)", 0, grown + 64, 64, grown + 128))
        + check
        + _call("get_output", "(local.get $c)", 0, (2 + 4 + 16 + 64) * PAGE - 4, 64, OUT_WRITTEN)
    )
    # the last call: a buffer straddling the end of the grown memory
    yield Hostile("memory_growth_between_calls", body, BAD, grow=True)


def hostile_set() -> list[Hostile]:
    return [
        *_pointer_cases(),
        *_handle_cases(),
        *_overlap_cases(),
        *_dims_cases(),
        *_order_cases(),
        *_exhaustion_cases(),
        *_growth_cases(),
    ]


def wat(h: Hostile, model: Model) -> str:
    text = abi_cases.wat(h.case(), model)
    # locals for the bodies above; a growable memory where asked
    text = text.replace("(func $case (result i32)", "(func $case (result i32) (local $c i32) "
                        "(local $i i32) (local $g i32)")  # fmt: skip
    if h.grow:
        text = text.replace('(memory (export "memory") 2 2)', '(memory (export "memory") 2)')
    return text


def build(h: Hostile, model: Model) -> bytes:
    return wasmtime.wat2wasm(wat(h, model))


# -- running on the wasmtime-py preview1 host ------------------------------------------


class ProbeNn(Preview1Nn):
    """Our witx host, recording any exception its catch-all had to swallow: an
    exception other than NnError/BackendError inside an ABI function is a host
    bug (it would have been a trap, or worse, without the catch-all)."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.bugs: list[str] = []

    def _entry(self, call: str, impl: Callable[..., int | None]) -> Callable[..., int]:
        def checked(*args: int) -> int | None:
            try:
                return impl(*args)
            except (NnError, BackendError):
                raise
            except Exception as e:
                self.bugs.append(f"{call}{args}: {type(e).__name__}: {e}")
                raise

        return super()._entry(call, checked)


@dataclass
class Outcome:
    outcome: str  # errno:<name> | trap:<cause> | escaped:<exception>
    bugs: list[str] = field(default_factory=list)  # exceptions the host's catch-all swallowed
    graphs: int = 0
    contexts: int = 0
    last_error: str = ""

    @property
    def kind(self) -> str:
        return "trap" if self.outcome.startswith("trap:") else self.outcome


def _engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.epoch_interruption = True  # a guest that never stops traps at the deadline
    return wasmtime.Engine(config)


def run_preview1(wasm: bytes, model: Model, nn: ProbeNn | None = None) -> Outcome:
    """Run a hostile command on the wasmtime-py witx host, in this process."""
    engine = _engine()
    nn = nn or ProbeNn("cpu", 1, preopen=model.folder)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    nn.define(linker)
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    store.set_epoch_deadline(1)
    timer = threading.Timer(DEADLINE_S, engine.increment_epoch)
    timer.start()
    try:
        instance = linker.instantiate(store, wasmtime.Module(engine, wasm))
        exports = instance.exports(store)
        nn.bind(store, exports["memory"])  # type: ignore[arg-type]
        exports["_start"](store)  # type: ignore[operator]
        outcome = "errno:success"  # returned without proc_exit: not our prelude
    except wasmtime.ExitTrap as e:
        outcome = f"errno:{ERRNOS[e.code]}" if 0 <= e.code < len(ERRNOS) else f"exit:{e.code}"
    except wasmtime.Trap as e:
        outcome = f"trap:{abi_cases_cause(str(e))}"
    except Exception as e:  # a Python exception left a host function
        outcome = f"escaped:{type(e).__name__}: {e}"
    finally:
        timer.cancel()
    return Outcome(outcome, nn.bugs, len(nn.graphs), len(nn.contexts), nn.last_error)


def abi_cases_cause(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "trap"
