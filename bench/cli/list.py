"""`wasinn-bench list`: workloads, and which variants/hosts/backends/devices can run here."""

from __future__ import annotations

import argparse

from rich.table import Table
from rich.text import Text

from bench.measure.trial import trial_run
from bench.present.tables import stdout_console
from contracts.cells import BACKENDS
from hosts.backends import get_backend
from workloads.spec.workload import load_workload, workload_files


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    return sub.add_parser(
        "list", help="workloads, and which variants/hosts/backends/devices can run here"
    )


def run(args: argparse.Namespace) -> int:
    out = stdout_console()
    wl = Table(title="workloads")
    for col in ("name", "suites", "model", "backends", "devices", "description"):
        wl.add_column(col)
    for path in workload_files():
        w = load_workload(path)
        wl.add_row(
            w.name, ",".join(w.suites), w.model_label, ",".join(w.backends), ",".join(w.devices),
            w.description,
        )  # fmt: skip
    out.print(wl)

    devices = Table(title="backends and devices")
    for col in ("backend", "version", "device", "available"):
        devices.add_column(col)
    for name in BACKENDS:
        backend = get_backend(name)
        for device, reason in backend.devices().items():
            available = Text("yes", "green") if reason is None else Text(f"no: {reason}", "yellow")
            devices.add_row(name, backend.version(), device, available)
    out.print(devices)

    cells = Table(
        title="variants x hosts x backends x devices, found by a trial run of mlp-tiny here"
    )
    for col in ("variant", "host", "backend", "device", "available"):
        cells.add_column(col)
    for s in trial_run():
        text = (
            Text("yes", "green") if s.status == "ok" else Text(f"{s.status}: {s.reason}", "yellow")
        )
        cells.add_row(s.cell.variant, s.cell.host, s.cell.backend, s.cell.device, text)
    out.print(cells)
    return 0
