"""Bulk conversion of `list<u8>` between wasmtime-py and Python (the fast path).

wasmtime-py converts a `list<u8>` one element at a time through ctypes (~1 s per
602,112-byte tensor each way). The C API hands a host function its arguments as
an array of `wasmtime_component_val_t`; a `list<u8>` is a `vallist` {size,
data} of such values, one per byte. Here numpy reads and writes that array in
one strided operation instead.

The layout is private to wasmtime's C API, so every fact used is checked in
`layout_problem()` against the pinned wasmtime (50.0.1): the struct offsets
from the ctypes bindings, and a round trip against wasmtime-py's own
conversion. `hosts.wasmtime_py.component` uses the stock conversion (and records
why) when the check fails. tests/test_component.py guards the same facts.

`add_func` registers a host function like `LinkerInstance.add_func`, except that
`list<u8>` and `list<list<u8>>` parameters and `list<u8>` results take the fast
path; every other type goes through wasmtime-py's own converters.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import wasmtime
from wasmtime import _ffi as ffi
from wasmtime.component import U8, LinkerInstance, ListType, ResultType, TupleType, ValType
from wasmtime.component._enter import catch_exceptions
from wasmtime.component._types import FuncType

PINNED_WASMTIME = "50.0.1"

# wasmtime_component_val_t: {u8 kind; <pad>; union of (payload) at 8}: 32 bytes.
VAL_SIZE = 32
KIND_OFFSET = 0
PAYLOAD_OFFSET = 8
KIND_BOOL = 0
KIND_U8 = 2
KIND_LIST = 13


def _layout_facts() -> list[str]:
    """The layout facts the fast path relies on that do not hold here."""
    val = ffi.wasmtime_component_val_t
    vallist = ffi.wasmtime_component_vallist_t
    facts = {
        "sizeof(wasmtime_component_val_t) == 32": ctypes.sizeof(val) == VAL_SIZE,
        "kind at offset 0": val.kind.offset == KIND_OFFSET,
        "kind is uint8": ffi.wasmtime_component_valkind_t is ctypes.c_uint8,
        "payload at offset 8": val.of.offset == PAYLOAD_OFFSET,
        "u8 payload at union offset 0": ffi.wasmtime_component_valunion.u8.offset == 0,
        "WASMTIME_COMPONENT_U8 == 2": ffi.WASMTIME_COMPONENT_U8.value == KIND_U8,
        "WASMTIME_COMPONENT_LIST == 13": ffi.WASMTIME_COMPONENT_LIST.value == KIND_LIST,
        "vallist = {size_t size, val* data}": (
            vallist.size.offset == 0 and vallist.data.offset == ctypes.sizeof(ctypes.c_size_t)
        ),
        "little-endian host": sys.byteorder == "little",
    }
    return [name for name, ok in facts.items() if not ok]


class StockBytes(ListType):
    """wasmtime-py's own `list<u8>` conversion, usable without a type pointer.

    Its converters only read `.element`, which a class attribute provides here.
    """

    element = U8()  # type: ignore[assignment]

    def __init__(self) -> None:  # no C type behind it (Managed.close ignores that)
        pass

    def to_c(self, data: bytes) -> Any:
        val = ffi.wasmtime_component_val_t()
        self.convert_to_c(None, data, ctypes.pointer(val))  # type: ignore[arg-type]
        return val

    def from_c(self, val: Any) -> bytes:
        return self.convert_from_c(val)


def _round_trip_problem() -> str | None:
    """Fast read of a stock-written list and stock read of a fast-written one."""
    data = bytes(range(256)) * 3 + b"\x00\xff"
    stock = StockBytes()
    if read_u8_list(stock.to_c(data)) != data:
        return "fast read of a stock list<u8> differs"
    if stock.from_c(new_u8_list(data)) != data:
        return "stock read of a fast list<u8> differs"
    return None


def layout_problem() -> str | None:
    """None when the fast path is safe with the installed wasmtime, else why not."""
    version = _installed_version()
    if version != PINNED_WASMTIME:
        return f"wasmtime {version} is not the pinned {PINNED_WASMTIME}"
    bad = _layout_facts()
    if bad:
        return "wasmtime_component_val_t layout changed: " + ", ".join(bad)
    try:
        return _round_trip_problem()
    except Exception as e:  # a changed layout may fail in any way
        return f"list<u8> round trip failed: {e}"


def _installed_version() -> str:
    from importlib.metadata import version

    return version("wasmtime")


def _as_rows(data: Any, n: int, dtype: type) -> np.ndarray:
    """The n values at `data` (a val_t pointer) as an (n, 32 / itemsize) array."""
    per_row = VAL_SIZE // np.dtype(dtype).itemsize
    ptr = ctypes.cast(data, ctypes.POINTER(np.ctypeslib.as_ctypes_type(dtype)))
    return np.ctypeslib.as_array(ptr, shape=(n, per_row))


def read_u8_list(val: Any) -> bytes:
    """Take a LIST-of-U8 value's bytes and free its element array (like the stock lift)."""
    if val.kind != KIND_LIST:
        raise TypeError(f"expected a list value, got kind {val.kind}")
    n = val.of.list.size
    try:
        if n == 0:
            return b""
        rows = _as_rows(val.of.list.data, n, np.uint8)
        if not (rows[:, KIND_OFFSET] == KIND_U8).all():
            raise TypeError("list<u8> holds a value that is not u8")
        return rows[:, PAYLOAD_OFFSET].tobytes()
    finally:
        ffi.wasmtime_component_vallist_delete(ctypes.byref(val.of.list))


def write_u8_list(ptr: Any, data: bytes | bytearray | memoryview | np.ndarray) -> None:
    """Store `data` as a LIST-of-U8 value at `ptr` (a pointer to a val_t)."""
    src = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
    src = src.reshape(-1).view(np.uint8)
    raw = ffi.wasmtime_component_vallist_t()
    ffi.wasmtime_component_vallist_new_uninit(raw, len(src))
    if len(src):
        rows = _as_rows(raw.data, len(src), np.uint64)
        rows[:, 0] = KIND_U8  # kind byte + zeroed padding (little-endian)
        rows[:, 1] = src  # the u8 payload at offset 8, rest of the union zeroed
    ptr.contents.kind = ffi.WASMTIME_COMPONENT_LIST
    ptr.contents.of.list = raw


def new_u8_list(data: bytes | np.ndarray) -> Any:
    """A fresh val_t holding `data` as list<u8> (caller frees or hands it over)."""
    val = ffi.wasmtime_component_val_t()
    write_u8_list(ctypes.pointer(val), data)
    return val


def _is_bytes(ty: ValType) -> bool:
    return isinstance(ty, ListType) and isinstance(ty.element, U8)


def _lift(ty: ValType) -> Callable[[Any], Any]:
    """A converter from a C value to Python for type `ty`, built once per function.

    list<u8> takes the bulk path; lists and tuples convert their elements with
    converters built here once (wasmtime-py's own re-queries the element types
    on every value); everything else is wasmtime-py's converter.
    """
    if _is_bytes(ty):
        return read_u8_list
    if isinstance(ty, ListType):
        return _lift_sequence(_lift(ty.element), list)
    if isinstance(ty, TupleType):
        return _lift_tuple([_lift(t) for t in ty.elements])
    return ty.convert_from_c


def _lift_sequence(item: Callable[[Any], Any], make: type) -> Callable[[Any], Any]:
    def lift(val: Any) -> Any:
        assert val.kind == KIND_LIST
        vals = val.of.list
        try:
            out = []
            for i in range(vals.size):
                raw = vals.data[i]
                out.append(item(raw))
                raw.kind = KIND_BOOL  # converted (and freed): the list delete skips it
            return make(out)
        finally:
            ffi.wasmtime_component_vallist_delete(ctypes.byref(vals))

    return lift


def _lift_tuple(items: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    def lift(val: Any) -> tuple:
        assert val.kind == ffi.WASMTIME_COMPONENT_TUPLE.value
        vals = val.of.tuple
        try:
            out = []
            for i, item in enumerate(items):
                raw = vals.data[i]
                out.append(item(raw))
                raw.kind = KIND_BOOL
            return tuple(out)
        finally:
            ffi.wasmtime_component_valtuple_delete(ctypes.byref(vals))

    return lift


Lower = Callable[[Any, Any, Any], None]  # (store, python value, val_t pointer)


def _lower(ty: ValType) -> Lower:
    """A converter from Python to a C value for type `ty` (see `_lift`)."""
    if _is_bytes(ty):
        return lambda _store, value, ptr: write_u8_list(ptr, value)
    if isinstance(ty, ListType):
        return _lower_list(_lower(ty.element))
    if isinstance(ty, TupleType):
        return _lower_tuple([_lower(t) for t in ty.elements])
    if isinstance(ty, ResultType):
        return _lower_result(ty)
    return ty.convert_to_c


def _fill(items: list[Lower], store: Any, values: Any, data: Any) -> None:
    """Lower values into data[0..n]; on failure neutralise the rest so the delete is safe."""
    done = 0
    try:
        for i, (item, value) in enumerate(zip(items, values, strict=True)):
            item(store, value, ctypes.pointer(data[i]))
            done += 1
    finally:
        for i in range(done, len(items)):
            data[i].kind = KIND_BOOL
            data[i].of.boolean = False


def _lower_list(item: Lower) -> Lower:
    def lower(store: Any, value: Any, ptr: Any) -> None:
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        raw = ffi.wasmtime_component_vallist_t()
        ffi.wasmtime_component_vallist_new_uninit(raw, len(value))
        try:
            _fill([item] * len(value), store, value, raw.data)
        except BaseException:
            ffi.wasmtime_component_vallist_delete(ctypes.byref(raw))
            raise
        ptr.contents.kind = ffi.WASMTIME_COMPONENT_LIST
        ptr.contents.of.list = raw

    return lower


def _lower_tuple(items: list[Lower]) -> Lower:
    def lower(store: Any, value: Any, ptr: Any) -> None:
        if not isinstance(value, tuple) or len(value) != len(items):
            raise TypeError(f"expected a {len(items)}-tuple, got {value!r}")
        raw = ffi.wasmtime_component_valtuple_t()
        ffi.wasmtime_component_valtuple_new_uninit(raw, len(items))
        try:
            _fill(items, store, value, raw.data)
        except BaseException:
            ffi.wasmtime_component_valtuple_delete(ctypes.byref(raw))
            raise
        ptr.contents.kind = ffi.WASMTIME_COMPONENT_TUPLE
        ptr.contents.of.tuple = raw

    return lower


def _lower_result(ty: ResultType) -> Lower:
    """result<ok, err>, telling the cases apart like wasmtime-py does."""
    tagged = ty._tagged()  # both cases map to one Python class: Variant("ok"|"err", payload)
    cases = {}
    for name, case in (("ok", ty.ok), ("err", ty.err)):
        classes: set[type] = set()
        if case is None:
            classes.add(type(None))
        else:
            case.add_classes(classes)
        cases[name] = (None if case is None else _lower(case), tuple(classes))

    def lower(store: Any, value: Any, ptr: Any) -> None:
        if tagged:
            name, payload = value.tag, value.payload
        else:
            name = "ok" if isinstance(value, cases["ok"][1]) else "err"
            payload = value
        item = cases[name][0]
        boxed = None
        if item is not None:
            raw = ffi.wasmtime_component_val_t()
            item(store, payload, ctypes.pointer(raw))
            boxed = ffi.wasmtime_component_val_new(ctypes.byref(raw))
        ptr.contents.kind = ffi.WASMTIME_COMPONENT_RESULT
        ptr.contents.of.result.is_ok = name == "ok"
        ptr.contents.of.result.val = boxed

    return lower


class _HostFunc:
    """A Python host function and its converters (built on the first call)."""

    def __init__(self, func: Callable[..., Any]):
        self.func = func
        self.lifts: list[Callable[[Any], Any]] | None = None
        self.lower: Callable[[Any, Any, Any], None] | None = None

    def _prepare(self, store: Any, ty_raw: Any) -> None:
        with FuncType._from_ptr(ty_raw, owner=store) as fty:
            self.lifts = [_lift(ty) for _, ty in fty.params]
            result = fty.result
        if result is not None:
            self.lower = _lower(result)

    def __call__(self, store: Any, ty_raw: Any, args: Any, nargs: int, results: Any) -> None:
        if self.lifts is None:
            self._prepare(store, ty_raw)
        assert self.lifts is not None and len(self.lifts) == nargs
        result = self.func(store, *(lift(args[i]) for i, lift in enumerate(self.lifts)))
        if self.lower is None:
            assert result is None
        else:
            self.lower(store, result, results)


# data pointer -> host function; entries leave when wasmtime finalizes the definition
_FUNCS: dict[int, _HostFunc] = {}
_next_key = [1]


@ffi.wasmtime_component_func_callback_t
def _callback(data, context, ty_raw, args, nargs, results, _nresults):  # type: ignore[no-untyped-def]
    host = _FUNCS[data or 0]
    return catch_exceptions(context, lambda store: host(store, ty_raw, args, nargs, results))


@ctypes.CFUNCTYPE(None, ctypes.c_void_p)
def _finalize(data):  # type: ignore[no-untyped-def]
    _FUNCS.pop(data or 0, None)


def add_func(inst: LinkerInstance, name: str, func: Callable[..., Any]) -> None:
    """`inst.add_func(name, func)` with bulk list<u8> conversion."""
    key = _next_key[0]
    _next_key[0] += 1
    _FUNCS[key] = _HostFunc(func)
    name_bytes = name.encode("utf-8")
    err = ffi.wasmtime_component_linker_instance_add_func(
        inst.ptr(),
        ctypes.create_string_buffer(name_bytes),
        len(name_bytes),
        _callback,
        key,
        _finalize,
    )
    if err:
        _FUNCS.pop(key, None)
        raise wasmtime.WasmtimeError._from_ptr(err)
