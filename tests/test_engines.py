"""Engine builds as hosts (hosts/engines/, docs/engines.md): --engine NAME=PATH and
NAME=cmd:'TEMPLATE', checked before a run, probed for their wasi-nn, run like the CLI."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pandas as pd
import pytest

from contracts import wasm_binary
from hosts.engines import Engine, EngineError, check, expand, parse
from hosts.engines.cmd import standard_driver
from hosts.engines.probe import NO_PREVIEW1, wasi_nn
from tests.helpers import REPO, run_cli

FAST = ("--rounds", "2", "--iterations", "20", "--warmup", "2", "--offline", "0")
PREVIEW1 = REPO / "workloads" / "guests" / "prebuilt" / "driver-preview1.wasm"


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(stat.S_IRWXU)
    return path


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two copies of the pinned CLI in folders of their own, and a wrapper around it that
    runs core modules without `-S nn`: a build whose preview1 wasi-nn is gone, for real
    (wasmtime's own link error), while components keep wasi:nn."""
    from hosts.wasmtime_cli.binary import cli_binary

    root = tmp_path_factory.mktemp("builds")
    out = {}
    for name in ("a", "b"):
        (root / name).mkdir()
        out[name] = root / name / "wasmtime"
        shutil.copy2(cli_binary(), out[name])
    out["nop1"] = _executable(
        root / "wasmtime-without-preview1-nn",
        f"#!{sys.executable}\n"
        "import os, sys\n"
        "args = sys.argv[1:]\n"
        "def core(a):\n"
        "    try:\n"
        "        return open(a, 'rb').read(8) == b'\\0asm\\1\\0\\0\\0'\n"
        "    except OSError:\n"
        "        return False\n"
        "if args[:1] == ['run'] and any(core(a) for a in args):\n"
        "    i = args.index('-S')\n"
        "    del args[i:i + 2]\n"
        f"os.execv({str(cli_binary())!r}, [{str(cli_binary())!r}, *args])\n",
    )
    # a build that crashes when it runs a cell: a panic line, then SIGABRT
    out["crash"] = _executable(
        root / "wasmtime-that-crashes",
        f"#!{sys.executable}\n"
        "import os, signal, sys\n"
        "if '--allow-precompiled' in sys.argv:\n"
        "    print(\"thread 'main' panicked at crates/wasi-nn/src/witx.rs:1:1:\", file=sys.stderr)\n"
        "    print('boom: this build crashes', file=sys.stderr)\n"
        "    sys.stderr.flush()\n"
        "    os.kill(os.getpid(), signal.SIGABRT)\n"
        f"os.execv({str(cli_binary())!r}, [{str(cli_binary())!r}, *sys.argv[1:]])\n",
    )
    return out


def test_parse_refuses_bad_names_and_templates() -> None:
    for text, words in (
        ("noequals", "give NAME=PATH"),
        ("a/b=/bin/true", "name it with letters"),
        ("native=/bin/true", "is the name of a host"),
        ("t=cmd:wasmtime run {args}", "no {module} placeholder"),
        ("t=cmd:wasmtime run {module} {nope}", "unknown placeholder {nope}"),
        ("t=cmd:wasmtime run {module} x{args}", "{args} must stand alone"),
        ("t=cmd:'unclosed", "cannot split"),
    ):
        with pytest.raises(EngineError, match="--engine") as e:
            parse(text)
        assert words in str(e.value), (text, str(e.value))
    engine = parse("old=relative/wasmtime")
    assert engine.host == "wasmtime-cli[old]" and Path(engine.path or "").is_absolute()
    assert parse("t=cmd:wasmedge --dir .:{dir} {module} {args}").host == "cmd[t]"


def test_check_refuses_what_is_not_a_wasmtime_or_a_wasm_runtime(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="does not exist"):
        check(Engine("x", path=str(tmp_path / "missing")))
    (tmp_path / "plain").write_text("")
    with pytest.raises(EngineError, match="not an executable file"):
        check(Engine("x", path=str(tmp_path / "plain")))
    with pytest.raises(EngineError, match="not a wasmtime CLI"):
        check(Engine("x", path=shutil.which("ls") or "/bin/ls"))
    liar = _executable(tmp_path / "liar", "#!/bin/sh\necho 'wasmtime 99.0.0'\n")
    with pytest.raises(EngineError, match="not a wasm runtime: a module that exits 42"):
        check(Engine("x", path=str(liar)))
    with pytest.raises(EngineError, match="program 'no-such-runtime' is not found"):
        check(Engine("x", template="no-such-runtime {module}"))


def test_expand_places_module_folder_args_and_drops_an_unneeded_bench(tmp_path: Path) -> None:
    engine = parse("t=cmd:rt --dir={dir}::. --preload=bench={bench} {module} {args}")
    m, d = tmp_path / "m.wasm", tmp_path / "g"
    assert expand(engine, m, d, ["--x", "1"]) == ["rt", f"--dir={d}::.", str(m), "--x", "1"]
    b = tmp_path / "bench.wasm"
    assert expand(engine, m, d, [], bench=b)[2] == f"--preload=bench={b}"


def test_standard_driver_points_the_experimental_import_at_load() -> None:
    import wasmtime

    std = standard_driver(PREVIEW1)
    names = [
        n
        for m, n, _ in wasm_binary.read_core_module(std.read_bytes()).imports
        if m == "wasi_ephemeral_nn"
    ]
    assert "properties" not in names and names.count("load") == 2
    wasmtime.Module(wasmtime.Engine(), std.read_bytes())  # still a valid module
    original = wasm_binary.read_core_module(PREVIEW1.read_bytes()).imports
    assert len(original) == len(wasm_binary.read_core_module(std.read_bytes()).imports)


def test_probe_finds_the_backends_by_trying(builds: dict[str, Path]) -> None:
    found = wasi_nn(Engine("a", path=str(builds["a"])))
    assert found["preview1"] is True
    backends = found["backends"]
    assert backends["openvino"].startswith("yes") and backends["onnx"].startswith("no")
    gone = wasi_nn(Engine("nop1", path=str(builds["nop1"])))
    assert gone["preview1"] is False and "wasi_ephemeral_nn" in gone["reason"]


def test_bad_engine_exits_2_and_writes_nothing(tmp_path: Path, builds: dict[str, Path]) -> None:
    out = tmp_path / "never"
    for engine, words in (
        (f"x={tmp_path / 'missing'}", "--engine x:"),
        ("t=cmd:wasmtime run {args}", "--engine t: the cmd: template has no {module}"),
    ):
        p = run_cli("run", "mlp-tiny", "--engine", engine, "--out", str(out))
        assert p.returncode == 2 and words in p.stderr and "Traceback" not in p.stderr
        assert len(p.stderr.strip().splitlines()) == 1 and not out.exists()
    p = run_cli("run", "mlp-tiny", "--engine", f"a={builds['a']}", "--engine", f"a={builds['b']}",
                "--out", str(out))  # fmt: skip
    assert p.returncode == 2 and "given twice" in p.stderr and not out.exists()
    p = run_cli("run", "mlp-tiny", "--hosts", "wasmtime-cli[zz]", "--out", str(out))
    assert p.returncode == 2 and "--hosts wasmtime-cli[zz]: no --engine zz=" in p.stderr
    assert not out.exists()
    p = run_cli("run", "mlp-tiny", "--engine", f"a={builds['a']}", "--engine-base", "z",
                "--out", str(out))  # fmt: skip
    assert p.returncode == 2 and "--engine-base z" in p.stderr and not out.exists()


@pytest.fixture(scope="module")
def engine_run(builds: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("engine-run") / "run"
    template = (f"cmd:{builds['a']} run -S nn --dir {{dir}}::. --argv0 {{argv0}} "
                "--preload=bench={bench} {module} {args}")  # fmt: skip
    p = run_cli(
        "run", "mlp-tiny", *FAST, "--backends", "openvino", "--out", str(out),
        "--engine", f"a={builds['a']}", "--engine", f"b={builds['b']}",
        "--engine", f"nop1={builds['nop1']}", "--engine", f"t={template}",
        "--engine", f"crash={builds['crash']}", "--accept", "failed",  # the crash fails
    )  # fmt: skip
    assert p.returncode == 0, p.stderr[-3000:]
    assert "builds vs wasmtime-cli[a]" in p.stdout  # the A/B lines after the summary
    return out


def test_engines_run_every_cell_the_cli_runs(engine_run: Path) -> None:
    cells = pd.read_csv(engine_run / "cells.csv").set_index(["variant", "host"])
    for host in ("wasmtime-cli[a]", "wasmtime-cli[b]"):
        for variant in ("preview1", "adapted", "component"):
            row = cells.loc[(variant, host)]
            assert row["status"] == "ok", (variant, host, row["reason"])
    assert cells.loc[("preview1", "cmd[t]"), "status"] == "ok"
    assert ("adapted", "cmd[t]") not in cells.index  # a template runs preview1 modules only
    hosts = set(cells.index.get_level_values("host"))
    assert "wasmtime-cli" not in hosts and "wasmtime-py" not in hosts  # the engines alone


def test_preview1_gone_is_unsupported_and_adapted_still_runs(engine_run: Path) -> None:
    cells = pd.read_csv(engine_run / "cells.csv").set_index(["variant", "host"])
    p1 = cells.loc[("preview1", "wasmtime-cli[nop1]")]
    assert p1["status"] == "unsupported" and NO_PREVIEW1 in p1["reason"]
    assert cells.loc[("adapted", "wasmtime-cli[nop1]"), "status"] == "ok"
    assert cells.loc[("component", "wasmtime-cli[nop1]"), "status"] == "ok"


def test_meta_records_version_sha256_and_backends(
    engine_run: Path, builds: dict[str, Path]
) -> None:
    import hashlib

    meta = json.loads((engine_run / "meta.json").read_text())
    engines = meta["engines"]
    assert sorted(engines) == sorted(
        ["cmd[t]", *(f"wasmtime-cli[{n}]" for n in ("a", "b", "nop1", "crash"))]
    )
    assert meta["engine_base"] == "wasmtime-cli[a]"  # the first --engine
    a = engines["wasmtime-cli[a]"]
    assert a["sha256"] == hashlib.sha256(builds["a"].read_bytes()).hexdigest()
    assert a["version"].startswith("wasmtime ") and a["wasi_nn"]["backends"]["openvino"].startswith(
        "yes"
    )
    assert engines["wasmtime-cli[nop1]"]["wasi_nn"]["preview1"] is False
    assert "sha256" not in engines["cmd[t]"] and engines["cmd[t]"]["spec"].startswith("cmd:")
    assert meta["runtimes"]["cmd[t]"] == a["version"]
    plan = json.loads((engine_run / "plan.json").read_text())
    assert [e["name"] for e in plan["engines"]] == ["a", "b", "nop1", "t", "crash"]
    assert os.environ.get("WASINN_BENCH_ENGINES") is None  # the CLI ran in its own process


def test_a_build_that_crashes_fails_its_cells_in_its_own_words(engine_run: Path) -> None:
    cells = pd.read_csv(engine_run / "cells.csv").set_index(["variant", "host"])
    for variant in ("preview1", "adapted", "component"):
        row = cells.loc[(variant, "wasmtime-cli[crash]")]
        assert row["status"] == "failed", (variant, row["reason"])
        assert "SIGABRT" in row["reason"] and "panic at crates/wasi-nn" in row["reason"]
    assert cells.loc[("preview1", "wasmtime-cli[b]"), "status"] == "ok"  # the run went on


def test_builds_side_by_side_in_summary_and_report(engine_run: Path, tmp_path: Path) -> None:
    from bench.present.report import write_report

    s = pd.read_csv(engine_run / "summary.csv").set_index(["variant", "host"])
    b = s.loc[("preview1", "wasmtime-cli[b]")]
    assert b["engine_verdict"] in ("unchanged", "improved", "regressed")
    assert b["vs_engine_base_low"] <= b["vs_engine_base"] <= b["vs_engine_base_high"]
    assert pd.isna(s.loc[("preview1", "wasmtime-cli[a]"), "vs_engine_base"])  # the base
    assert s.loc[("preview1", "cmd[t]"), "engine_verdict"] in ("unchanged", "improved", "regressed")
    md = write_report(engine_run, tmp_path / "report").read_text()
    assert "## Builds side by side" in md
    assert "wasmtime-cli\\[nop1\\]: adapted works where preview1 is gone" in md
