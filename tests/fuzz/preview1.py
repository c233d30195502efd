"""Fuzz the witx host (`hosts.wasmtime_py.preview1`) through a real guest.

A small WAT module exports one forwarder per `wasi_ephemeral_nn` import
(`f_load(a, b, c, d, e) -> errno` ...), so every fuzzed i32 reaches the host the
way a guest's call does: through wasmtime, the real Store and the real linear
memory, with the host's own bounds checks. The memory holds the conformance
model, a builder table, a tensor record and buffers at the conformance
addresses (tests/conformance/abi_cases.py); a case may also corrupt a field of
those records or grow the memory before its call.

Outcomes: an errno 0..8 (fine), a wasm trap (fine: not possible from these
forwarders unless a host function raised), or a bug: a Python exception that
left a host function ("escaped") or one the host's catch-all had to swallow
("swallowed", recorded by tests.hostile.modules.ProbeNn).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

import numpy as np
import wasmtime
from hypothesis import strategies as st

from hosts.abi.witx import ERRNOS, SIGNATURES
from tests.conformance import abi_cases
from tests.conformance.abi_cases import (
    BUILDERS,
    DATA,
    DIMS,
    INPUT,
    MODEL,
    NAME,
    OUT_CTX,
    OUT_GRAPH,
    OUT_WRITTEN,
    OUTBUF,
    TENSOR,
)
from tests.hostile.modules import ProbeNn

PAGE = 65536
# name -> number of i32 params (all return an errno): the standard witx calls
CALLS = {name: n for name, n in SIGNATURES.items() if name != "properties"}
RESET_EVERY = 300  # a fresh store now and then: loads stop answering `busy` at the cap
MAX_PAGES = 40  # growth cases stop here


def forwarder_wat() -> str:
    nn = '(import "wasi_ephemeral_nn"'
    imports, exports = [], []
    for name, n in CALLS.items():
        params = " ".join(["i32"] * n)
        imports.append(f'{nn} "{name}" (func ${name} (param {params}) (result i32)))')
        gets = " ".join(f"(local.get {i})" for i in range(n))
        exports.append(
            f'(func (export "f_{name}") (param {params}) (result i32) (call ${name} {gets}))'
        )
    return (
        "(module\n  " + "\n  ".join(imports) + '\n  (memory (export "memory") 2)\n  '
        + "\n  ".join(exports)
        + '\n  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))'
    )  # fmt: skip


# -- strategies ------------------------------------------------------------------------

MEM = 2 * PAGE
POINTERS = (BUILDERS, TENSOR, DIMS, DATA, OUTBUF, NAME, MODEL, OUT_GRAPH, OUT_CTX, OUT_WRITTEN)
EDGES = (0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 20, 64, -1, -2, -4, -8, 2**31 - 1, -(2**31),
         MEM - 1, MEM - 4, MEM - 8, MEM, MEM + 1, 0x20000001, 0x40000001, -MEM)  # fmt: skip


def i32s() -> st.SearchStrategy[int]:
    """Arguments as a guest passes them: signed i32, weighted toward edges,
    the addresses of the real records (and near them) and small handles."""
    near = st.builds(lambda p, d: p + d, st.sampled_from(POINTERS), st.integers(-24, 24))
    return st.one_of(
        st.sampled_from(EDGES),
        st.sampled_from(POINTERS),
        near,
        st.integers(0, 8),
        st.integers(-(2**31), 2**31 - 1),
    )


# fields a case may corrupt before its call: the tensor record, builder table, dims
FIELDS = (TENSOR, TENSOR + 4, TENSOR + 8, TENSOR + 12, TENSOR + 16, BUILDERS, BUILDERS + 4,
          DIMS, DIMS + 4)  # fmt: skip


@dataclass
class Case:
    call: str
    args: list[int]
    patches: list[tuple[int, int]]  # (address, i32 value) written before the call
    grow: int  # pages to grow before the call (0: none)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    call = draw(st.sampled_from(sorted(CALLS)))
    args = [draw(i32s()) for _ in range(CALLS[call])]
    patches = draw(st.lists(st.tuples(st.sampled_from(FIELDS), i32s()), max_size=3))
    grow = draw(st.sampled_from((0,) * 15 + (1, 7)))
    return Case(call, args, patches, grow)


# -- the host under test -----------------------------------------------------------------


@dataclass
class Tally:
    cases: int = 0
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    by_call: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    bugs: list[str] = field(default_factory=list)

    def add(self, call: str, outcome: str) -> None:
        self.cases += 1
        self.outcomes[outcome] += 1
        self.by_call[(call, outcome)] += 1


class Preview1Target:
    """One instance of the forwarder module on our witx host, re-made every
    RESET_EVERY cases; the records are restored before every case."""

    def __init__(self, model: abi_cases.Model):
        self.model = model
        self.engine = wasmtime.Engine()
        self.module = wasmtime.Module(self.engine, wasmtime.wat2wasm(forwarder_wat()))
        self.tally = Tally()
        self._fresh()

    def _fresh(self) -> None:
        self.nn = ProbeNn("cpu", 1, preopen=self.model.folder)
        linker = wasmtime.Linker(self.engine)
        self.nn.define(linker)
        self.store = wasmtime.Store(self.engine)
        self.instance = linker.instantiate(self.store, self.module)
        exports = self.instance.exports(self.store)
        self.memory = exports["memory"]
        assert isinstance(self.memory, wasmtime.Memory)
        self.nn.bind(self.store, self.memory)
        self.funcs = {name: exports[f"f_{name}"] for name in CALLS}
        self.grow = exports["grow"]
        self.image = self._image()
        self.memory.write(self.store, self.image, 0)
        self.since_reset = 0
        # graph 0, context 0 (inputs set, computed), context 1 (fresh): handles to hit
        call = self._call
        assert call("load", BUILDERS, len(self.model.builders), self._enc(), 0, OUT_GRAPH) == 0
        assert call("init_execution_context", 0, OUT_CTX) == 0
        assert call("set_input", 0, 0, TENSOR) == 0 and call("compute", 0) == 0
        assert call("init_execution_context", 0, OUT_CTX) == 0

    def _enc(self) -> int:
        from hosts.abi.witx import ENCODINGS

        return ENCODINGS.index(self.model.encoding)

    def _image(self) -> bytes:
        """The pristine low memory: the conformance layout (without its code)."""
        mem = bytearray(MODEL + sum(len(b) + 8 for b in self.model.builders))
        addr, table = MODEL, b""
        for blob in self.model.builders:
            mem[addr : addr + len(blob)] = blob
            table += addr.to_bytes(4, "little") + len(blob).to_bytes(4, "little")
            addr = (addr + len(blob) + 7) & ~7
        mem[BUILDERS : BUILDERS + len(table)] = table
        rec = b"".join(v.to_bytes(4, "little") for v in (DIMS, 2, 1, DATA, INPUT.nbytes))
        mem[TENSOR : TENSOR + len(rec)] = rec
        mem[DIMS : DIMS + 8] = np.array([1, 4], dtype="<u4").tobytes()
        mem[DATA : DATA + INPUT.nbytes] = INPUT.tobytes()
        mem[NAME : NAME + 5] = abi_cases.GRAPH_NAME.encode()
        return bytes(mem)

    def _call(self, name: str, *args: int) -> int:
        return self.funcs[name](self.store, *args)  # type: ignore[operator]

    def run(self, case: Case) -> str:
        if self.since_reset >= RESET_EVERY:
            self._fresh()
        self.since_reset += 1
        self.memory.write(self.store, self.image, 0)
        for addr, value in case.patches:
            self.memory.write(self.store, (value & 0xFFFFFFFF).to_bytes(4, "little"), addr)
        if case.grow and self.memory.size(self.store) + case.grow <= MAX_PAGES:
            self.grow(self.store, case.grow)  # type: ignore[operator]
        bugs_before = len(self.nn.bugs)
        try:
            code = self._call(case.call, *case.args)
            outcome = f"errno:{ERRNOS[code]}" if 0 <= code < len(ERRNOS) else f"bad-errno:{code}"
        except wasmtime.Trap as e:
            outcome = "trap"
            self.tally.bugs.append(f"{case}: trap from a forwarder: {str(e).splitlines()[-1]}")
        except Exception as e:  # noqa: BLE001 - the point: nothing may escape
            outcome = "escaped"
            self.tally.bugs.append(f"{case}: escaped {type(e).__name__}: {e}")
        if len(self.nn.bugs) > bugs_before:
            outcome = "swallowed"
            self.tally.bugs += [f"{case}: {b}" for b in self.nn.bugs[bugs_before:]]
        if outcome.startswith("bad-errno"):
            self.tally.bugs.append(f"{case}: {outcome}")
        self.tally.add(case.call, outcome)
        return outcome
