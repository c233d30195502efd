"""What one guest -> host tensor crossing costs per MB on wasmtime-py components, and
what the binding allows (docs/component.md, "The floor"). `python -m
microbenchmarks.transfer_floor [--rounds R] [--mb 0.6,2.5]`.

Side by side in one process, interleaved round by round (the order shuffled per round,
so machine drift hits every path alike), for each size:

- `list<u8> fast`: the tensor's `list<u8>` lifted by wasmtime into one value per byte,
  read by hosts.wasmtime_py.fastlist (what the wasi-nn host does today);
- `list<u8> stock`: wasmtime-py's own per-element conversion (small sizes only);
- `string latin1`: the same bytes as a `string` lowered with string-encoding=latin1+utf16
  (one value: wasmtime transcodes latin1 -> UTF-8, Python decodes, `.encode("latin-1")`
  gives the bytes back) - what a shim component could hand the host;
- `memcpy`: numpy copying the same bytes (the floor of any copy).

Prints the median per-MB cost of each path with a bootstrap 95% CI over rounds (one
sample per round: the median of its calls), and the ratio fast / latin1.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

import numpy as np
from wasmtime import Engine, Store, wat2wasm
from wasmtime.component import Component, Linker

from hosts.wasmtime_py import fastlist

CAP_VALUES = 2_796_202  # wasmtime 50's hostcall fuel: 128 MiB of 48-byte values
WAT = """
(component
  (import "host" (instance $host
    (export "take" (func (param "data" (list u8))))
    (export "take-str" (func (param "data" string)))))
  (core module $libc
    (memory (export "memory") 400)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 64)))
  (core instance $libc (instantiate $libc))
  (core func $take (canon lower (func $host "take") (memory (core memory $libc "memory"))))
  (core func $str (canon lower (func $host "take-str") string-encoding=latin1+utf16
                   (memory (core memory $libc "memory"))))
  (core module $main
    (import "libc" "memory" (memory 1))
    (import "host" "take" (func $take (param i32 i32)))
    (import "host" "take-str" (func $str (param i32 i32)))
    (func (export "fill") (param $len i32) (local $i i32)
      (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (local.get $len)))
        (i32.store8 (i32.add (i32.const 64) (local.get $i))
                    (i32.and (i32.mul (local.get $i) (i32.const 167)) (i32.const 255)))
        (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l))))
    (func (export "send") (param $len i32) (call $take (i32.const 64) (local.get $len)))
    (func (export "send-str") (param $len i32) (call $str (i32.const 64) (local.get $len))))
  (core instance $main (instantiate $main (with "libc" (instance $libc))
    (with "host" (instance (export "take" (func $take)) (export "take-str" (func $str))))))
  (func (export "fill") (param "len" u32) (canon lift (core func $main "fill")))
  (func (export "send") (param "len" u32) (canon lift (core func $main "send")))
  (func (export "send-str") (param "len" u32) (canon lift (core func $main "send-str"))))
"""


class Guest:
    def __init__(self, fast: bool):
        engine = Engine()
        self.got = b""
        linker = Linker(engine)
        add = fastlist.add_func if fast else (lambda inst, name, fn: inst.add_func(name, fn))
        with linker.root() as root, root.add_instance("host") as inst:
            add(inst, "take", lambda _s, data: setattr(self, "got", bytes(data)))
            inst.add_func("take-str", lambda _s, text: setattr(self, "got", text.encode("latin-1")))
        self.store = Store(engine)
        instance = linker.instantiate(self.store, Component(engine, wat2wasm(WAT)))
        self.funcs = {n: instance.get_func(self.store, n) for n in ("fill", "send", "send-str")}

    def call(self, name: str, n: int) -> float:
        func = self.funcs[name]
        start = time.perf_counter()
        func(self.store, n)
        func.post_return(self.store)
        return time.perf_counter() - start


def _paths(size: int, fast: Guest, stock: Guest) -> dict[str, Callable[[], float]]:
    src = np.frombuffer(np.random.default_rng(0).bytes(size), np.uint8)
    dst = np.empty_like(src)

    def memcpy() -> float:
        start = time.perf_counter()
        np.copyto(dst, src)
        return time.perf_counter() - start

    paths = {"string latin1": lambda: fast.call("send-str", size), "memcpy": memcpy}
    if size <= CAP_VALUES:
        paths["list<u8> fast"] = lambda: fast.call("send", size)
    if size <= 700_000:
        paths["list<u8> stock"] = lambda: stock.call("send", size)
    return paths


def _ci(samples: list[float], rng: np.random.Generator) -> tuple[float, float, float]:
    x = np.asarray(samples)
    boot = np.median(rng.choice(x, (2000, len(x))), axis=1)
    return float(np.median(x)), float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--calls", type=int, default=3, help="calls per path per round")
    parser.add_argument("--mb", default="0.6,2.5,4.9,12")
    args = parser.parse_args()
    fast, stock = Guest(True), Guest(False)
    rng = np.random.default_rng(1)
    for mb in (float(m) for m in args.mb.split(",")):
        size = int(mb * 1e6) if mb != 0.6 else 602_112
        for g in (fast, stock):
            g.funcs["fill"](g.store, size)
            g.funcs["fill"].post_return(g.store)
        paths = _paths(size, fast, stock)
        want = ((np.arange(size) * 167) & 255).astype(np.uint8).tobytes()
        for name in ("send-str", "send") if size <= CAP_VALUES else ("send-str",):
            fast.call(name, size)
            assert fast.got == want, f"{name} changed the bytes"
        per_round: dict[str, list[float]] = {name: [] for name in paths}
        order = list(paths)
        for _ in range(args.rounds):
            random.Random(len(per_round["memcpy"])).shuffle(order)
            for name in order:
                calls = [
                    paths[name]() for _ in range(args.calls if name != "list<u8> stock" else 1)
                ]
                per_round[name].append(float(np.median(calls)) * 1e3 / (size / 1e6))
        print(
            f"{size:,} bytes ({size / 1e6:.2f} MB), {args.rounds} rounds; ms per MB, median [95% CI]"
        )
        stats = {name: _ci(v, rng) for name, v in per_round.items()}
        for name, (m, lo, hi) in stats.items():
            print(f"  {name:<15} {m:9.3f} [{lo:.3f}, {hi:.3f}]")
        if "list<u8> fast" in per_round:
            ratio = np.asarray(per_round["list<u8> fast"]) / np.asarray(per_round["string latin1"])
            print(
                f"  fast / latin1   {_ci(list(ratio), rng)[0]:9.1f}x [{_ci(list(ratio), rng)[1]:.1f}, "
                f"{_ci(list(ratio), rng)[2]:.1f}]"
            )
        else:
            print(f"  list<u8>: over the cap of {CAP_VALUES:,} values per host call")


if __name__ == "__main__":
    main()
