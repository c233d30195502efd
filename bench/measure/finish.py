"""Finishing a run: agreement, cells.csv, summary.csv and meta.json for whatever
has finished (also after an interrupt)."""

from __future__ import annotations

import json
import shutil

import pandas as pd

from bench.analyze.builds import with_builds
from bench.analyze.summarize import summarize
from bench.measure.agreement import agreement
from bench.measure.meta import build_meta, engine_base
from bench.measure.plan import RunSetup
from bench.measure.stop_rule import StopReason
from bench.measure.workload_kind import Agreement, PreparedWorkload
from bench.results.progress import CellState, cell_row
from bench.results.schema import CELL_COLUMNS
from bench.results.store import RunWriter, write_frame_csv, write_json
from contracts.hosts import properties_describe


def cells_frame(
    states: list[CellState], prepared: dict[str, PreparedWorkload], agree: dict[str, Agreement],
    properties: dict[tuple[str, str], dict[str, str]], fingerprint: str, offline_k: int = 0,
) -> pd.DataFrame:  # fmt: skip
    """cells.csv: each cell's state (`cell_row`), its model, agreement and properties."""
    rows = []
    for s in states:
        c = s.cell
        info = prepared[c.workload].model_info
        agrees, diff = agree.get(c.key, (None, None))
        # Our Python backends' properties, unless the host's wasi-nn brings its own backend
        # (the CLI's OpenVINO is the same library configured alike: contracts/hosts.py).
        ours = properties_describe(c.host, c.backend)
        props = dict(properties.get((c.backend, c.device), {})) if ours else {}
        props.update({k[5:]: v for k, v in s.notes.items() if k.startswith("prop.")})
        rows.append(cell_row(s, offline_k) | {
            "model": info.get("model", ""),
            "agrees": agrees,
            "max_abs_diff": diff,
            "model_sha256": info.get("sha256"),
            "opset": info.get("opset"),
            "onnx_ir_version": info.get("onnx_ir_version"),
            "openvino_ir_version": info.get("openvino_ir_version"),
            "machine": fingerprint,
            "properties": json.dumps(props, sort_keys=True),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=CELL_COLUMNS)


def backend_properties(
    states: list[CellState], prepared: dict[str, PreparedWorkload]
) -> dict[tuple[str, str], dict[str, str]]:
    from hosts.backends import get_backend

    props = {}
    for backend, device in sorted({(s.cell.backend, s.cell.device) for s in states}):
        threads = max(p.workload.threads for p in prepared.values())
        try:
            props[(backend, device)] = get_backend(backend).properties(device, threads)
        except Exception as e:
            props[(backend, device)] = {"backend": backend, "error": str(e)}
    return props


def finish(
    setup: RunSetup, writer: RunWriter, fingerprint: str, interrupted: bool,
    stop: StopReason | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Write samples, cells, summary and meta for whatever has finished; `stop`: why the
    added rounds stopped (meta.json; the plan is never edited)."""
    samples = writer.consolidate_samples()
    agree = agreement(setup.states, setup.prepared, writer.outputs)
    props = backend_properties(setup.states, setup.prepared)
    offline_k = setup.plan.offline_k
    cells = cells_frame(setup.states, setup.prepared, agree, props, fingerprint, offline_k)
    write_frame_csv(setup.run_dir / "cells.csv", cells)
    target = setup.plan.target_ci
    summary = summarize(samples, cells, target_ci=target.pct if target else None)
    summary = with_builds(summary, samples, {"engine_base": engine_base(setup.plan)})
    write_frame_csv(setup.run_dir / "summary.csv", summary)
    meta = build_meta(setup.run_dir, setup.prepared, setup.plan, interrupted, props, stop)
    write_json(setup.run_dir / "meta.json", meta)
    shutil.rmtree(setup.run_dir / "work", ignore_errors=True)
    return summary
