"""Fuzz what guests and workers report, and the fields of run folders (issue 25).

Each target feeds hypothesis-drawn input to the one function that parses it and
classifies the outcome: `ok` (accepted, and what was accepted holds the invariants the
harness relies on), `refused:<kind>` (the clear error that function promises), or a bug
(any other exception, or an accepted value that breaks an invariant):

- samples: the driver's samples file (`hosts.guest_io.parse_samples`): lines of keys,
  numbers of every size and shape, garbage bytes;
- results: a worker's result.json (`bench.measure.report_check.read_result`), then the
  runner's own conversion of an accepted one into an int64 frame;
- marks: a program's stderr with real, forged and broken region lines
  (`hosts.programs.split_marks` and `finish`), and its stdout (`read_output`);
- meta / plan / progress: run-folder files (`check_meta` with `Run.folder_in`,
  `Plan.read`, `read_progress` with `replay`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.analyze.meta_check import check_meta
from bench.analyze.runs import Run
from bench.measure.report_check import read_result
from bench.results.progress import read_progress, replay
from bench.results.run_plan import Plan
from bench.results.store import RunFolderError
from contracts.jobs import CellFailed
from contracts.phases import MAX_NS
from hosts import guest_io
from hosts.programs import ProgramJob, finish, read_output, split_marks
from tests.fuzz.preview1 import Tally

TOKEN = "0123456789abcdef0123456789abcdef"
# numbers as a guest might print them: edges, huge, negative, odd spellings
NUMBER_TEXT = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["0", str(MAX_NS), str(MAX_NS + 1), str(2**63), str(2**64), "1e9", "0x10",
                     "1_000", "\u0661\u0662", "nan", "inf", "-0", "+5", "", "9" * 400]),
)  # fmt: skip
JSON_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
)  # fmt: skip
JSON = st.recursive(JSON_LEAF, lambda kids: st.lists(kids, max_size=4)
                    | st.dictionaries(st.text(max_size=12), kids, max_size=4), max_leaves=12)  # fmt: skip


NS = st.integers(0, MAX_NS)


def _valid_samples(iterations: int) -> st.SearchStrategy[tuple[bytes, int]]:
    """A well-formed samples file, sometimes with one line replaced by a hostile one."""
    line = st.lists(NS, min_size=4, max_size=4).map(lambda v: "iter " + " ".join(map(str, v)))
    lines = st.lists(line, min_size=iterations, max_size=iterations)
    hostile = st.builds(lambda ns: "iter " + " ".join(ns), st.lists(NUMBER_TEXT, max_size=5))

    def build(body: list[str], swap: str | None, at: int) -> tuple[bytes, int]:
        if swap is not None:
            body[at % len(body)] = swap
        return f"{guest_io.SAMPLES_MAGIC}\nload 5\ninit 6\n" + "\n".join(body) + "\n", iterations

    return st.builds(build, lines, st.none() | hostile, st.integers(0, 9)).map(
        lambda t: (t[0].encode(), t[1])
    )


def _samples_case() -> st.SearchStrategy[tuple[bytes, int]]:
    anything = st.tuples(_samples_text(), st.integers(1, 4))
    return st.one_of(st.integers(1, 4).flatmap(_valid_samples), anything)


def _samples_text() -> st.SearchStrategy[bytes]:
    key = st.sampled_from(["iter", "load", "init", "evil", "", "iter\x00"])
    line = st.builds(lambda k, ns: " ".join([k, *ns]), key, st.lists(NUMBER_TEXT, max_size=5))
    body = st.lists(line, max_size=6).map("\n".join)
    head = st.sampled_from([guest_io.SAMPLES_MAGIC, guest_io.SAMPLES_MAGIC, "", "garbage"])
    text = st.builds(lambda h, b: f"{h}\n{b}\n".encode(), head, body)
    return st.one_of(text, st.binary(max_size=200))


def _valid_result() -> st.SearchStrategy[dict[str, Any]]:
    """A well-formed worker result, sometimes with one field replaced by any JSON."""
    n = st.integers(1, 4)
    record = n.flatmap(lambda k: st.fixed_dictionaries({
        "status": st.just("ok"),
        "per_iteration": st.fixed_dictionaries({"total": st.lists(NS, min_size=k, max_size=k),
                                             "compute": st.lists(NS, min_size=k, max_size=k)}),
        "per_round": st.dictionaries(st.sampled_from(["load", "init"]), NS),
        "peak_rss_kb": st.integers(0, 2**30), "notes": st.dictionaries(st.text(max_size=8),
                                                                        st.text(max_size=8)),
        "output_names": st.lists(st.text(max_size=8), max_size=2),
    }))  # fmt: skip
    field = st.sampled_from(["per_iteration", "per_round", "peak_rss_kb", "notes", "status"])
    swap = st.none() | st.tuples(field, JSON)
    return st.builds(lambda r, w: r | dict([w]) if w else r, record, swap)


def _result_value() -> st.SearchStrategy[Any]:
    ns = st.lists(st.one_of(st.integers(0, 10**6), JSON_LEAF), min_size=0, max_size=4)
    iterations = st.one_of(st.dictionaries(st.sampled_from(["total", "compute", "../x", "T"]),
                                           ns, max_size=3), JSON)  # fmt: skip
    record = st.fixed_dictionaries(
        {"status": st.sampled_from(["ok", "failed", "great"]), "per_iteration": iterations},
        optional={"per_round": st.one_of(st.dictionaries(st.sampled_from(["load", "init"]),
                                                           JSON_LEAF), JSON),
                  "peak_rss_kb": JSON_LEAF, "notes": JSON, "output_names": JSON,
                  "reason": JSON_LEAF},
    )  # fmt: skip
    return st.one_of(_valid_result(), record, JSON)


def _mark_lines() -> st.SearchStrategy[bytes]:
    token = st.sampled_from([TOKEN, "ffffffffffffffffffffffffffffffff", "", "x" * 70])
    start = st.integers(0, 2**66)
    line = st.builds(lambda t, a, b: f"wasinn-bench region {t} {a} {b}\n".replace("  ", " "),
                     token, start, start)  # fmt: skip
    noise = st.text(max_size=30).map(lambda t: t + "\n")
    return st.lists(st.one_of(line, noise), max_size=8).map(lambda x: "".join(x).encode())


class ReportTargets:
    """The targets above, one folder of scratch files, one tally."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.tally = Tally()

    def _classify(self, target: str, check: Callable[[], str]) -> None:
        try:
            outcome = check()
        except (CellFailed, RunFolderError) as e:
            outcome = f"refused:{type(e).__name__}"
        except Exception as e:  # noqa: BLE001 - any other exception is the bug we look for
            outcome = f"bug: {type(e).__name__}: {str(e)[:160]}"
        if outcome.startswith("bug"):
            self.tally.bugs.append(f"{target}: {outcome}")
            outcome = "bug"
        self.tally.add(target, outcome)

    def samples(self, data: bytes, iterations: int) -> None:
        path = self.folder / "samples.txt"
        path.write_bytes(data)

        def check() -> str:
            phases, once, _ = guest_io.parse_samples(path, iterations)
            values = [v for vs in phases.values() for v in vs] + list(once.values())
            if any(not 0 <= v <= MAX_NS for v in values) or len(phases["total"]) != iterations:
                return f"bug: accepted {values[:4]} for {iterations} iterations"
            return "ok"

        self._classify("samples", check)

    def result(self, value: Any) -> None:
        path = self.folder / "result.json"
        try:
            path.write_text(json.dumps(value))
        except ValueError:  # NaN keys etc.: json refuses; write raw text instead
            path.write_text(str(value))

        def check() -> str:
            r = read_result(path)
            if r["status"] != "ok":
                return f"refused:{r['status']}"
            rows = [
                (i, p, int(ns)) for p, vs in r["per_iteration"].items() for i, ns in enumerate(vs)
            ]
            pd.DataFrame(rows, columns=["i", "phase", "ns"]).astype({"ns": "int64"})
            return "ok"

        self._classify("results", check)

    def marks(self, stderr: bytes, stdout: bytes) -> None:
        out = self.folder / "stdout.txt"
        out.write_bytes(stdout)

        def check() -> str:
            read_output(out).decode(errors="replace")
            regions, rest, forged = split_marks(stderr, TOKEN)
            job = ProgramJob(Path("p.wasm"), self.folder)
            result = finish(job, 0, "", rest, regions, 1, forged=forged)
            if result.ok and any(not 0 <= e - s <= MAX_NS for s, e in result.regions):
                return "bug: a region out of range counted"
            if result.ok and forged:
                return "bug: forged marks counted"
            return "ok" if result.ok else "refused:failed-run"

        self._classify("marks", check)

    def meta(self, meta: Any) -> None:
        def check() -> str:
            if not isinstance(meta, dict):
                return "refused:not-object"
            check_meta(meta, self.folder / "meta.json")
            run = Run(self.folder, meta, pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
            base = self.folder / "out"
            if not run.folder_in(base).resolve().is_relative_to(base.resolve()):
                return "bug: run_id left the folder"
            return "ok"

        self._classify("meta", check)

    def plan_and_progress(self, plan: Any, lines: list[Any]) -> None:
        (self.folder / "plan.json").write_text(json.dumps(plan, default=str))
        (self.folder / "checksums.json").unlink(missing_ok=True)
        text = "\n".join(json.dumps(x, default=str) for x in lines)
        (self.folder / "progress.jsonl").write_text(text + "\n")

        def check() -> str:
            states, done = replay(Plan.read(self.folder), read_progress(self.folder))
            if any(s.rounds_done > len(lines) for s in states):
                return "bug: more rounds than lines"
            return "ok"

        self._classify("plan+progress", check)


def _plan_value() -> st.SearchStrategy[Any]:
    cell = st.fixed_dictionaries({"key": st.sampled_from(["w/preview1/native/onnx/cpu",
                                                          "../../x/a/b/c/d", "a/b", 5]),
                                  "status": st.sampled_from(["pending", "ok!", 1])})  # fmt: skip
    overrides = st.dictionaries(st.sampled_from(["rounds", "timeout_s", "iterations", "x"]),
                                JSON_LEAF, max_size=3)  # fmt: skip
    good = st.fixed_dictionaries({"run_id": st.just("r"), "cells": st.lists(cell, max_size=3),
                                  "overrides": overrides},
                                 optional={"seed": JSON_LEAF, "target_ci": JSON})  # fmt: skip
    return st.one_of(good, JSON)


def _progress_line() -> st.SearchStrategy[Any]:
    entry = st.fixed_dictionaries(
        {"cell": st.sampled_from(["w/preview1/native/onnx/cpu", 7]),
         "round": st.one_of(st.integers(-3, 5), JSON_LEAF),
         "status": st.sampled_from(["ok", "failed", "bad"])},
        optional={"peak_rss_kb": JSON_LEAF, "notes": JSON, "offline_ips": JSON_LEAF},
    )  # fmt: skip
    return st.one_of(entry, JSON)


def fuzz_reports(settings_: settings) -> Tally:
    """Every target, `settings_.max_examples` cases each."""
    folder = Path(tempfile.mkdtemp(prefix="wasinn-fuzz-reports-"))
    t = ReportTargets(folder)
    cases = [
        (_samples_case(), lambda a: t.samples(*a)),
        (_result_value(), t.result),
        (st.tuples(_mark_lines(), st.binary(max_size=64)), lambda a: t.marks(*a)),
        (st.one_of(st.dictionaries(st.sampled_from(["run_id", "created", "machine", "shard",
                   "workloads", "config", "packages"]), JSON, max_size=4), JSON), t.meta),
        (st.tuples(_plan_value(), st.lists(_progress_line(), max_size=4)),
         lambda a: t.plan_and_progress(*a)),
    ]  # fmt: skip
    for strategy, target in cases:
        _run(strategy, target, settings_)
    return t.tally


def _run(strategy: st.SearchStrategy[Any], target: Callable[[Any], None], s: settings) -> None:
    @s
    @given(strategy)
    def one(value: Any) -> None:
        target(value)

    one()
