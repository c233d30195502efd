"""Hostile model bytes through the adapter's input-name parsers (docs/adapter.md).

The adapter reads input names from builder 0 at `load`: an ONNX protobuf walker and
an OpenVINO IR xml scanner, both in WAT. This fuzzer feeds them generated models:
well-formed ones (protobuf / xml built field by field, with initializers listed as
inputs, nested layers, escaped and non-UTF-8 names, names over the length cap, more
than 64 inputs) whose names are known, the same truncated or with a byte changed, and
random bytes. A recording wasi:nn host accepts every model (so the parsers run on all
of them: the adapter parses only after a successful load) and records the names
compute receives. A bug is a trap, a run that does not finish every model, or a name
that is neither the model's (well-formed cases: exactly the expected one; others: a
string in the model's bytes) nor the decimal fallback.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from wasmtime.component import ResourceHost, Variant

from hosts.wasmtime_py import component as comp
from tests.fuzz import run as fuzz_run

PROGRAM = Path(__file__).parent.parent / "adapter_fixtures" / "named_inputs.c"
NIN = 4  # inputs the program sets: f32 [1, 4] each
MAX_NAME = 1024  # the adapter's cap (longer: decimal name)
MAX_IO = 64


@dataclasses.dataclass
class Tally:
    models: int = 0
    runs: int = 0
    real_names: int = 0
    decimal_names: int = 0
    bugs: list[str] = dataclasses.field(default_factory=list)


# -- generated models -----------------------------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


NAMES = st.one_of(
    st.text(min_size=0, max_size=12).map(str.encode),
    st.binary(min_size=1, max_size=8),  # often not UTF-8
    st.sampled_from([b"x", b"input_ids", b"0", b"1", b"a,b", b"\xff", b"x" * 1500]),
)
JUNK = st.one_of(  # fields the walker must skip
    # not 5, 7, 11: initializer, graph, input (the fields the walker reads)
    st.tuples(st.integers(1, 40).filter(lambda n: n not in (5, 7, 11)), st.binary(max_size=20)).map(
        lambda t: _field(*t)
    ),
    st.integers(0, 2**64 - 1).map(lambda v: _varint(3 << 3) + _varint(v)),
    st.binary(min_size=8, max_size=8).map(lambda b: _varint(4 << 3 | 1) + b),
    st.binary(min_size=4, max_size=4).map(lambda b: _varint(4 << 3 | 5) + b),
)


@st.composite
def onnx_model(draw: Any) -> tuple[bytes, list[bytes] | None]:
    """(ModelProto bytes, the names the adapter should send) from a well-formed layout."""
    pool = draw(st.lists(NAMES, max_size=4))
    inits = list(pool)
    entries: list[tuple[str, bytes]] = []
    for _ in range(draw(st.integers(0, 70 if draw(st.booleans()) else 6))):
        kind = draw(st.sampled_from(["input", "input", "init", "junk"]))
        if kind == "input":
            name = draw(st.sampled_from(pool)) if pool and draw(st.booleans()) else draw(NAMES)
            entries.append(("input", name))
        elif kind == "init":
            entries.append(("init", draw(NAMES)))
        else:
            entries.append(("junk", draw(JUNK)))
    inits += [n for k, n in entries if k == "init"]
    graph = b""
    for kind, value in entries:
        if kind == "input":  # ValueInfoProto: name (1) and a type (2) to skip
            graph += _field(11, _field(1, value) + _field(2, b"\x0a\x02\x08\x01"))
        elif kind == "init":  # TensorProto: dims (1), data_type (2), name (8), raw_data (9)
            graph += _field(5, b"\x08\x04\x10\x01" + _field(8, value) + _field(9, b"\0" * 16))
        else:
            graph += value
    # the names inputs were drawn from, and more, as initializers after the inputs
    later = draw(st.lists(NAMES, max_size=2))
    for name in [*pool, *later]:
        graph += _field(5, _field(8, name))
    inits += later
    model = _varint(1 << 3) + _varint(8) + draw(JUNK) + _field(7, graph) + draw(JUNK)
    real = [n for k, n in entries if k == "input" and n not in inits][:MAX_IO]
    return model, real


def _attr(value: bytes) -> bytes:
    return value.replace(b"&", b"&amp;").replace(b'"', b"&quot;").replace(b"<", b"&lt;")


def _first_clean(value: bytes) -> bytes:
    """The first name in a `names` value that needs no unescaping (a backslash escapes
    the next byte)."""
    start, clean, i = 0, True, 0
    while i <= len(value):
        if i == len(value) or value[i] == ord(","):
            if clean and i > start:
                return value[start:i]
            start, clean = i + 1, True
        elif value[i] in (ord("\\"), ord("&")):
            clean = False
            i += value[i] == ord("\\")
        i += 1
    return b""


@st.composite
def ir_xml(draw: Any) -> tuple[bytes, list[bytes] | None]:
    """(IR xml, expected names): Parameter and other layers, bodies, odd names."""
    layers, names = [], []
    for i in range(draw(st.integers(0, 70 if draw(st.booleans()) else 6))):
        kind = draw(st.sampled_from(["Parameter", "Parameter", "Add", "Loop", "Parameter/"]))
        tensor = draw(st.lists(NAMES, min_size=0, max_size=3))
        escaped = [n.replace(b"\\", b"\\\\").replace(b",", b"\\,") for n in tensor]
        port_names = b",".join(_attr(n) for n in escaped)
        attr = b' names="' + port_names + b'"' if tensor else b""
        port = b'<port id="0" precision="FP32"' + attr + b"><dim>1</dim></port>"
        if kind == "Parameter/":  # self-closing: no port to read
            layers.append(b'<layer id="%d" name="p" type="Parameter" version="opset1"/>' % i)
            names.append(b"")
            continue
        body = b""
        if kind == "Loop":  # a body's Parameter is no model input
            body = b'<body><layers><layer id="0" type="Parameter"><output>' + port
            body += b"</output></layer></layers></body>"
        layers.append(
            b'<layer id="%d" name="n" type="%s" version="opset1">\n<data shape="1,4"/>'
            % (i, kind.encode())
            + body
            + b"<output>"
            + port
            + b"</output></layer>"
        )
        if kind == "Parameter":
            names.append(_first_clean(port_names))
    head = b'<?xml version="1.0"?>\n<net name="m" version="11">\n<layers>\n'
    text = head + b"\n".join(layers) + b"\n</layers>\n<edges/>\n<rt_info/>\n</net>\n"
    return text, names[:MAX_IO]


@st.composite
def hostile(draw: Any) -> tuple[bytes, list[bytes] | None]:
    """A well-formed model as it is, or cut, or with bytes changed (no expectation), or junk."""
    data, names = draw(st.one_of(onnx_model(), ir_xml()))
    how = draw(st.sampled_from(["as is", "as is", "cut", "poke", "random", "varint"]))
    if how == "as is":
        return data, names
    if how == "cut" and data:
        return data[: draw(st.integers(0, len(data) - 1))], None
    if how == "poke" and data:
        buf = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            buf[draw(st.integers(0, len(buf) - 1))] = draw(st.integers(0, 255))
        return bytes(buf), None
    if how == "varint":  # a graph field whose length runs past the end, or 11-byte varints
        return _varint(7 << 3 | 2) + draw(st.sampled_from([b"\xff" * 11, _varint(2**32)])), None
    return draw(st.binary(max_size=300)), None


# -- the recording host ---------------------------------------------------------------


class _Graph:
    def new_context(self) -> object:
        return object()


class RecordingState(comp.NnState):
    """Accepts any model; compute records the input names and returns no outputs."""

    computes: list[list[str]]

    def load(self, store: Any, builders: list[bytes], encoding: str, target: str) -> Any:
        return Variant("ok", ResourceHost.own(self.graphs.add(_Graph()), comp.GRAPH))

    def compute(self, store: Any, this: Any, inputs: list[tuple[str, Any]]) -> Any:
        self._rep(store, this)  # a borrow must be taken up before the call returns
        for _, handle in inputs:
            self.tensors.items.pop(self._rep(store, handle), None)
        RecordingState.computes.append([name for name, _ in inputs])
        return []


def _build(folder: Path) -> Path:
    p1 = folder / "named.wasm"
    cmd = [sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-O2", "-s"]
    proc = subprocess.run([*cmd, "-o", str(p1), str(PROGRAM)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    from workloads.guests.adapt import adapt

    adapted = folder / "named-adapted.wasm"
    adapt(p1, adapted)
    return adapted


def _judge(tally: Tally, data: bytes, want: list[bytes] | None, got: list[str]) -> str | None:
    if len(got) != NIN:
        return f"compute got {len(got)} inputs"
    for i, name in enumerate(got):
        if name == str(i):
            decimal = want is None or i >= len(want) or not _usable(want[i]) or want[i] == b"%d" % i
            tally.decimal_names += 1
            if not decimal:
                return f"input {i}: decimal name, want {want[i]!r}"  # type: ignore[index]
            continue
        tally.real_names += 1
        raw = name.encode()
        if len(raw) > MAX_NAME or raw not in data:
            return f"input {i}: name {name[:40]!r} is not in the model"
        if want is not None and (i >= len(want) or want[i] != raw):
            return f"input {i}: name {name[:40]!r}, want {want[i] if i < len(want) else None!r}"
    return None


def _usable(name: bytes) -> bool:
    try:
        name.decode()
    except UnicodeDecodeError:
        return False
    return 0 < len(name) <= MAX_NAME


def fuzz_model_bytes(folder: Path | None = None, examples: int | None = None) -> Tally:
    """Batches of 20..40 hostile models, one adapted run each; examples = batches."""
    folder = folder or Path(tempfile.mkdtemp(prefix="wasinn-fuzz-models-"))
    adapted = _build(folder)
    tally = Tally()
    base = settings.get_profile(fuzz_run.profile())
    batches = examples if examples is not None else -(-base.max_examples // 30)

    @settings(base, max_examples=batches)
    @given(st.sampled_from(["0", "1"]), st.lists(hostile(), min_size=20, max_size=40))
    def batch(encoding: str, models: list[tuple[bytes, list[bytes] | None]]) -> None:
        paths = []
        if encoding == "1":  # xml read as ONNX: not a protobuf, so decimal names
            models = [(d, [] if w is not None and d.startswith(b"<") else w) for d, w in models]
        for k, (data, _) in enumerate(models):
            (folder / f"m{k}").write_bytes(data)
            paths.append(f"m{k}")
        argv = ["named", encoding, "-", "0", str(NIN), *["f32", "1x4"] * NIN, *paths]
        out = folder / "out.txt"
        RecordingState.computes = []
        original = comp.NnState
        comp.NnState = RecordingState  # type: ignore[misc]
        try:
            run = comp.run_component(adapted, argv, folder, comp.NnConfig(), stdout=out)
        finally:
            comp.NnState = original  # type: ignore[misc]
        tally.runs += 1
        lines = out.read_text().splitlines()
        if run.trap is not None or run.exit_code != 0:
            tally.bugs.append(f"trap/exit {run.exit_code}: {run.trap}")
            return
        if len(lines) != len(models) or len(RecordingState.computes) != len(models):
            tally.bugs.append(f"{len(lines)} lines, {len(RecordingState.computes)} computes")
            return
        for (data, want), line, got in zip(models, lines, RecordingState.computes, strict=True):
            tally.models += 1
            if not line.endswith("load 0 compute 0"):
                tally.bugs.append(f"{line!r}")
            elif why := _judge(tally, data, want, got):
                tally.bugs.append(f"{why} (encoding {encoding}, model {data[:80]!r})")

    batch()
    return tally
