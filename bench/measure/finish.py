"""Finishing a run: agreement, cells.csv, summary.csv and meta.json for whatever
has finished (also after an interrupt)."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pandas as pd

from bench.analyze.builds import with_builds
from bench.analyze.summarize import summarize
from bench.measure.agreement import agreement
from bench.measure.meta import build_meta, engine_base
from bench.measure.plan import RunSetup
from bench.measure.prepare import PreparedWorkload
from bench.results.progress import CellState
from bench.results.schema import CELL_COLUMNS
from bench.results.store import RunWriter, write_frame_csv, write_json
from contracts.hosts import properties_describe


def cells_frame(
    states: list[CellState], prepared: dict[str, PreparedWorkload], agree: dict[str, tuple[Any, Any]],
    properties: dict[tuple[str, str], dict[str, str]], fingerprint: str, offline_k: int = 0,
) -> pd.DataFrame:  # fmt: skip
    rows = []
    for s in states:
        c = s.cell
        p = prepared[c.workload]
        agrees, diff = agree.get(c.key, (None, None))
        # Our Python backends' properties, unless the host's wasi-nn brings its own backend
        # (the CLI's OpenVINO is the same library configured alike: contracts/hosts.py).
        ours = properties_describe(c.host, c.backend)
        props = dict(properties.get((c.backend, c.device), {})) if ours else {}
        props.update({k[5:]: v for k, v in s.notes.items() if k.startswith("prop.")})
        status = "failed" if s.status == "pending" and s.rounds_done else s.status
        rows.append({
            **c.to_dict(),
            "model": p.model_info.get("model", ""),
            "status": "skipped" if status == "pending" else status,
            "reason": s.reason if status != "pending" else "not run (interrupted)",
            "rounds": s.rounds_done,
            "agrees": agrees,
            "max_abs_diff": diff,
            "peak_rss_mb": round(s.peak_rss_kb / 1024, 1) if s.peak_rss_kb else None,
            "load_mode": s.notes.get("load_mode", ""),
            "model_sha256": p.model.sha256,
            "opset": p.model.opset,
            "onnx_ir_version": p.model_info.get("onnx_ir_version"),
            "openvino_ir_version": p.model_info.get("openvino_ir_version"),
            "machine": fingerprint,
            "properties": json.dumps(props, sort_keys=True),
            "guest_properties": s.notes.get("guest_properties", ""),
            "offline_k": offline_k if s.offline_ips else None,
            "offline_ips": s.offline_ips,
            **abi_bytes(s.notes),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=CELL_COLUMNS)


def abi_bytes(notes: dict[str, str]) -> dict[str, int | None]:
    """A generative cell's counted bytes per decode step (hosts/decoding.py)."""
    i, o = notes.get("abi_bytes_in_per_token"), notes.get("abi_bytes_out_per_token")
    if i is None or o is None:
        return {}
    return {"abi_bytes_per_token": int(i) + int(o), "abi_bytes_in_per_token": int(i),
            "abi_bytes_out_per_token": int(o)}  # fmt: skip


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


def finish(setup: RunSetup, writer: RunWriter, fingerprint: str, interrupted: bool) -> pd.DataFrame:
    """Write samples, cells, summary and meta for whatever has finished."""
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
    write_json(
        setup.run_dir / "meta.json",
        build_meta(setup.run_dir, setup.prepared, setup.plan, interrupted, props),
    )
    shutil.rmtree(setup.run_dir / "work", ignore_errors=True)
    return summary
