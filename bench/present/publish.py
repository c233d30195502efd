"""`wasinn-bench publish RUN_DIR... --out SITE [--x time|commit|runtime] [--metric overhead|overhead_c|p50]`

A static dashboard over many runs, like asv's published site (docs/publish.md):

  SITE/index.html          every cell: a small trend, the latest value and its CI, a step mark
  SITE/cells/<id>.html     one cell: the full trend with CI band and steps, run by run
  SITE/regressions.html    compare verdicts between consecutive runs, newest first
  SITE/runs/<run>/         each run's report, where one exists (reports/<run>/report.html)
  SITE/data.json           everything above as data (format "wasinn-bench-site", versioned)
  SITE/style.css

Values and CIs are the runs' own summary statistics of compare's headline metric
(overhead vs native by default, vs native-c, or p50 with its bootstrap CI); steps are
history's (bench/analyze/steps.py: E-divisive, then compare's rule over rounds); verdicts
are bench/analyze/compare.py's. Charts are inline SVG (bench/present/svg.py): the site needs no
script and no network. The site is built in a temporary folder and then put in
place, so an error leaves the previous site as it was.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import os
import re
import secrets
import shutil
import sys
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from bench.analyze import headline
from bench.analyze.compare import compare_runs
from bench.analyze.runs import Run, load_run
from bench.analyze.steps import detect_steps
from bench.present.svg import Point, fmt, trend
from bench.results.store import RunFolderError
from contracts.cells import KEY_COLUMNS, Cell
from contracts.errors import UserError
from contracts.hosts import base_host, runtime_version, version_key
from contracts.signals import terminate_as_interrupt

SITE_FORMAT = "wasinn-bench-site"
SITE_VERSION = 1  # bump when a key of data.json is renamed, removed or changes meaning
TEMPLATES = Path(__file__).parent / "templates" / "publish"
X_AXES = ("time", "commit", "runtime")
METRICS = {  # metric -> (summary value, CI low, CI high)
    "overhead": ("overhead_vs_native", "overhead_ci_low", "overhead_ci_high"),
    "overhead_c": ("overhead_vs_native_c", "overhead_c_ci_low", "overhead_c_ci_high"),
    "p50": ("p50_ms", "p50_ci_low_ms", "p50_ci_high_ms"),
}


class PublishError(UserError):
    """Nothing usable to publish (exit 2)."""


@dataclass
class Loaded:
    runs: list[Run] = field(default_factory=list)  # oldest first
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"path", "why"}


def _note(message: str) -> None:
    print(f"wasinn-bench publish: {message}", file=sys.stderr)


def load_runs(paths: list[str | Path]) -> Loaded:
    """Every readable run among `paths` (a folder of run folders counts as its runs);
    anything else is skipped with a note. Runs of another schema version than the
    newest run's are skipped too (their columns may mean something else)."""
    out = Loaded()
    candidates: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir() and not (p / "meta.json").exists():
            inner = sorted(d for d in p.iterdir() if (d / "meta.json").is_file())
            if inner:
                candidates += inner
                continue
        candidates.append(p)
    for p in dict.fromkeys(candidates):
        if not p.exists():
            out.skipped.append({"path": str(p), "why": "does not exist"})
            continue
        if not (p.is_dir() and (p / "meta.json").is_file()):
            out.skipped.append({"path": str(p), "why": "not a run folder (no meta.json)"})
            continue
        try:
            run = load_run(p)
        except RunFolderError as e:
            out.skipped.append({"path": str(p), "why": str(e)})
            continue
        out.runs.append(run)
    out.runs.sort(key=lambda r: (str(r.meta.get("created", "")), r.run_id))
    seen: dict[str, Run] = {}
    for run in out.runs:  # the same run given twice (a copy): keep one
        if run.run_id in seen:
            out.skipped.append({"path": str(run.path), "why": f"run {run.run_id} given twice"})
        seen.setdefault(run.run_id, run)
    out.runs = list(seen.values())
    if out.runs:
        newest = out.runs[-1].meta.get("schema_version")
        keep = []
        for run in out.runs:
            if run.meta.get("schema_version") != newest:
                why = f"schema_version {run.meta.get('schema_version')} (newest run: {newest})"
                out.skipped.append({"path": str(run.path), "why": why})
            else:
                keep.append(run)
        out.runs = keep
    for s in out.skipped:
        _note(f"skipping {s['path']}: {s['why']}")
    return out


def _float(value: Any) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return math.nan
    return f


def _json_num(value: float) -> float | None:
    return value if math.isfinite(value) else None


def cell_id(key: Cell, machine: str, many_machines: bool) -> str:
    text = "_".join(key) + (f"_{machine}" if many_machines else "")
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", text)
    return f"{slug}-{hashlib.sha256((machine + '/'.join(key)).encode()).hexdigest()[:6]}"


def runtime_of(run: Run, host: str) -> str:
    """The runtime version a cell's host ran in this run (for --x runtime)."""
    return runtime_version(host, run.meta.get("runtimes") or {}, run.meta.get("packages") or {})


def _epoch(created: str) -> float:
    try:
        return datetime.fromisoformat(created).timestamp()
    except ValueError:
        return math.nan


Series = dict[tuple[str, Cell], list[dict[str, Any]]]  # (machine, cell) -> its points


def build_data(
    loaded: Loaded, x_axis: str = "time", metric: str = "overhead", factor: float = 1.10,
    compare_metric: str = "overhead", reports: dict[str, str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """data.json: runs, cells with their points and steps, and regressions."""
    if x_axis not in X_AXES:
        raise ValueError(f"--x: choose from {', '.join(X_AXES)}")
    runs = loaded.runs
    unit = headline.unit(metric, runs[-1].measure if runs else "wall")
    reports = reports or {}
    # x = runtime: one series per cell across the releases of its host (wasmtime-cli,
    # wasmtime-cli@45.0.2, ... on one line), ordered by version; else one per host, in time.
    merge_releases = x_axis == "runtime"
    series, samples = _series(runs, metric, merge_releases)
    return {
        "format": SITE_FORMAT,
        "version": SITE_VERSION,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "metric": metric,
        "unit": unit,
        "factor": factor,
        "x": x_axis,
        "compare_metric": compare_metric,
        "runs": [
            {
                "run_id": r.run_id,
                "created": str(r.meta.get("created", "")),
                "git_sha": str(r.meta.get("git_sha", "")),
                "machine": r.fingerprint,
                "schema_version": r.meta.get("schema_version"),
                "runtimes": r.meta.get("runtimes") or {},
                "report": reports.get(r.run_id),
            }
            for r in runs
        ],
        "cells": _cells(series, samples, factor, merge_releases),
        "comparisons": comparisons(runs, compare_metric, factor),
        "skipped": loaded.skipped,
    }


def _point(run: Run, r: pd.Series, metric: str) -> dict[str, Any]:
    """One run's value of one cell (a summary row) as the dashboard draws it."""
    value_col, low_col, high_col = METRICS[metric]
    host = str(r["host"])
    return {
        "run_id": run.run_id,
        "created": str(run.meta.get("created", "")),
        "git_sha": str(run.meta.get("git_sha", "")),
        "host": host,
        "runtime": runtime_of(run, host),
        "status": str(r.get("status", "")),
        "reason": str(r.get("reason", "") if pd.notna(r.get("reason")) else ""),
        "value": _json_num(_float(r.get(value_col))),
        "ci_low": _json_num(_float(r.get(low_col))),
        "ci_high": _json_num(_float(r.get(high_col))),
        "n": int(n) if math.isfinite(n := _float(r.get("n"))) else 0,
        "step": False,
        "step_ratio": None,
        "step_p": None,
        "step_ci": None,
        "step_rule": "",
    }


def _series(
    runs: list[Run], metric: str, merge_releases: bool
) -> tuple[Series, dict[int, headline.Measured]]:
    """Every run's points per (machine, cell), and id(point) -> the rounds step detection
    tests (only for points that have a headline value)."""
    series: Series = {}
    samples: dict[int, headline.Measured] = {}
    for run in runs:
        per_cell = headline.measured(run, metric)
        for _, r in run.summary.iterrows():
            key = Cell.from_row(r)
            # the machine as history spells it (an empty CSV field: the run's fingerprint)
            machine = r.get("machine")
            machine = str(machine) if isinstance(machine, str) and machine else run.fingerprint
            series_key = replace(key, host=base_host(key.host)) if merge_releases else key
            point = _point(run, r, metric)
            if key in per_cell:
                samples[id(point)] = per_cell[key]
            series.setdefault((machine, series_key), []).append(point)
    return series, samples


def _cells(
    series: Series, samples: dict[int, headline.Measured], factor: float, merge_releases: bool
) -> list[dict[str, Any]]:
    """One entry per measured series: its points in x order, its steps, its latest point."""
    machines = {m for m, _ in series}
    cells = []
    for (machine, key), points in series.items():
        if merge_releases:  # ordered by version, then time
            points.sort(key=lambda p: (version_key(p["runtime"]), p["created"]))
        measured = [p for p in points if id(p) in samples]
        if not measured:
            continue  # never measured (unsupported everywhere): nothing to draw
        # history's step detection over the runs that measured the cell, in x order
        for step in detect_steps([samples[id(p)] for p in measured], factor):
            p, c = measured[step.index], step.change
            p["step"], p["step_ratio"], p["step_p"] = True, step.ratio, _json_num(step.p)
            p["step_ci"] = [_json_num(c.ratio.low), _json_num(c.ratio.high)]
            p["step_rule"] = c.rule
        # the newest run (and in it, the newest release when releases share a line)
        latest = max(points, key=lambda p: (p["created"], p["run_id"], version_key(p["runtime"])))
        cells.append(
            {
                "id": cell_id(key, machine, len(machines) > 1),
                "key": "/".join(key),
                **dict(zip(KEY_COLUMNS, key, strict=True)),
                "hosts": list(dict.fromkeys(p["host"] for p in points)),
                "machine": machine,
                "points": points,
                "latest": latest,
                "steps": [p["run_id"] for p in points if p["step"]],
            }
        )
    cells.sort(key=lambda c: (c["machine"], c["key"]))
    return cells


def comparisons(runs: list[Run], metric: str, factor: float) -> list[dict[str, Any]]:
    """bench/compare.py between each run and the one before it, newest pair first."""
    out = []
    for base, head in zip(runs, runs[1:], strict=False):
        entry: dict[str, Any] = {
            "base": base.run_id,
            "head": head.run_id,
            "created": str(head.meta.get("created", "")),
            "git_sha": str(head.meta.get("git_sha", "")),
        }
        try:
            cmp = compare_runs(base, head, metric, factor)
        except ValueError as e:
            out.append(entry | {"error": str(e), "counts": {}, "cells": [], "warnings": []})
            continue
        entry["counts"] = {
            v: cmp.count(v) for v in ("failed", "regressed", "improved", "unchanged")
        }
        entry["warnings"] = cmp.warnings()
        entry["cells"] = [
            {
                "cell": c.cell,
                "verdict": c.verdict,
                "ratio": _json_num(float(c.ratio.value)),
                "ci_low": _json_num(float(c.ratio.low)),
                "ci_high": _json_num(float(c.ratio.high)),
                "p": _json_num(float(c.p)),
                "base": _json_num(float(c.base_value)),
                "head": _json_num(float(c.head_value)),
                "note": c.note,
            }
            for c in cmp.rows
            if c.verdict != "unchanged"
        ]
        out.append(entry)
    return out[::-1]


# -- HTML -------------------------------------------------------------------------


def _page(title: str, body: str, generated: str, runs: int, root: str = "") -> str:
    template = Template((TEMPLATES / "page.html").read_text())
    return template.substitute(
        title=html.escape(title), body=body, generated=html.escape(generated), runs=runs, root=root
    )


def _x_label(p: dict[str, Any], x_axis: str) -> str:
    if x_axis == "commit":
        return p["git_sha"][:7] or "?"
    if x_axis == "runtime":
        return p["runtime"]
    return p["created"][5:16].replace("T", " ")


def _points(cell: dict[str, Any], x_axis: str, unit: str) -> list[Point]:
    pts = cell["points"]
    times = [_epoch(p["created"]) for p in pts]
    # time: proportional to when runs were made (if every run has a time); else one slot each
    use_time = x_axis == "time" and all(map(math.isfinite, times)) and len(set(times)) > 1
    out = []
    for i, p in enumerate(pts):
        nan = math.nan
        value = p["value"] if p["value"] is not None else nan
        ci = f" [{fmt(p['ci_low'] or nan)}, {fmt(p['ci_high'] or nan)}]"
        tip = f"{p['run_id']} ({p['created']}, {p['git_sha'][:7]}, {p['runtime']}): " + (
            f"{fmt(value)} {unit}{ci}" if p["value"] is not None else p["status"]
        )
        step_text = f"step ×{p['step_ratio']:.3f}" if p["step"] else ""
        out.append(
            Point(
                x=times[i] if use_time else float(i),
                y=value,
                low=p["ci_low"] if p["ci_low"] is not None else nan,
                high=p["ci_high"] if p["ci_high"] is not None else nan,
                label=_x_label(p, x_axis),
                tip=tip,
                step=p["step"],
                step_text=step_text,
            )
        )
    return out


def _value_ci(p: dict[str, Any]) -> str:
    if p["value"] is None:
        return f'<span class="badge status">{html.escape(p["status"])}</span>'
    nan = math.nan
    low = p["ci_low"] if p["ci_low"] is not None else nan
    high = p["ci_high"] if p["ci_high"] is not None else nan
    return f"{fmt(p['value'])} <span class='note'>[{fmt(low)}, {fmt(high)}]</span>"


def index_html(data: dict[str, Any]) -> str:
    unit, x_axis = data["unit"], data["x"]
    many = len({c["machine"] for c in data["cells"]}) > 1
    parts = [
        f"<p>{len(data['cells'])} cells over {len(data['runs'])} runs. Metric: "
        f"<b>{html.escape(data['metric'])}</b> ({html.escape(unit)}), x axis: "
        f"<b>{html.escape(x_axis)}</b>. The band is the 95% bootstrap CI of each run; "
        f'<span class="badge step">step</span> = history\'s step detection found a shift: '
        "E-divisive places it, compare's rule confirms it over rounds (beyond the factor "
        f"{data['factor']:g}, a 95% CI that excludes 1, Mann-Whitney U where the rounds can "
        "reach it). See also <a href='regressions.html'>regressions</a>.</p>"
    ]
    if data["skipped"]:
        parts.append(
            "<p class='warn'>Skipped: "
            + "; ".join(html.escape(f"{s['path']}: {s['why']}") for s in data["skipped"])
            + "</p>"
        )
    head = ["cell", *(["machine"] if many else []), "trend", f"latest ({unit}) [95% CI]", "runs",
            "step"]  # fmt: skip
    parts.append('<table class="cells"><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr>")
    for c in data["cells"]:
        steps = [p for p in c["points"] if p["step"]]
        mark = (
            " ".join(
                f'<span class="badge step" title="{html.escape(p["run_id"])}">step '
                f"×{p['step_ratio']:.2f}</span>"
                for p in steps
            )
            if steps
            else ""
        )
        spark = trend(_points(c, x_axis, unit), 180, 40, axes=False)
        row = [
            f'<a href="cells/{c["id"]}.html">{html.escape(c["key"])}</a>',
            *([html.escape(c["machine"])] if many else []),
            spark,
            _value_ci(c["latest"]),
            str(sum(p["value"] is not None for p in c["points"])),
            mark,
        ]
        cls = ' class="step-row"' if steps else ""
        parts.append(
            f'<tr{cls} data-cell="{html.escape(c["key"])}">'
            + "".join(f"<td>{x}</td>" for x in row)
            + "</tr>"
        )
    parts.append("</table>")
    return _page("wasi-nn bench dashboard", "\n".join(parts), data["generated"], len(data["runs"]))


def cell_html(data: dict[str, Any], cell: dict[str, Any]) -> str:
    unit, x_axis = data["unit"], data["x"]
    reports = {r["run_id"]: r["report"] for r in data["runs"]}
    parts = [
        f"<p>machine <code>{html.escape(cell['machine'])}</code> · metric "
        f"{html.escape(data['metric'])} ({html.escape(unit)}) · x: {html.escape(x_axis)}</p>",
        trend(_points(cell, x_axis, unit), 960, 340, axes=True, unit=unit),
        "<h2>Runs</h2>",
        "<table><tr><th>run</th><th>created</th><th>git sha</th><th>runtime</th>"
        f"<th>value ({html.escape(unit)}) [95% CI]</th><th>n</th><th>status</th><th>step</th>"
        "</tr>",
    ]
    for p in cell["points"]:
        report = reports.get(p["run_id"])
        run = html.escape(p["run_id"])
        link = f'<a href="../{html.escape(report)}">{run}</a>' if report else run
        step = (
            f"×{p['step_ratio']:.3f} [{fmt(p['step_ci'][0])}, {fmt(p['step_ci'][1])}] "
            f"<span class='note'>{html.escape(p['step_rule'])}</span>"
            if p["step"]
            else ""
        )
        status = html.escape(p["status"]) + (
            f" <span class='note'>{html.escape(p['reason'][:200])}</span>" if p["reason"] else ""
        )
        cls = ' class="step-row"' if p["step"] else ""
        parts.append(
            f"<tr{cls}><td>{link}</td><td>{html.escape(p['created'])}</td>"
            f"<td><code>{html.escape(p['git_sha'][:12])}</code></td>"
            f"<td>{html.escape(p['runtime'])}</td><td class='num'>{_value_ci(p)}</td>"
            f"<td class='num'>{p['n']}</td><td>{status}</td><td>{step}</td></tr>"
        )
    parts.append("</table>")
    return _page(cell["key"], "\n".join(parts), data["generated"], len(data["runs"]), "../")


def regressions_html(data: dict[str, Any]) -> str:
    parts = [
        f"<p>Each run compared with the run before it (<code>wasinn-bench compare "
        f"--metric {html.escape(data['compare_metric'])} --factor {data['factor']:g}</code>), "
        "newest first. Cells not listed were unchanged.</p>"
    ]
    if not data["comparisons"]:
        parts.append("<p class='note'>Only one run: nothing to compare.</p>")
    ids = {c["key"]: c["id"] for c in data["cells"]}
    # the headline: every regression or new failure, newest first
    bad = [(c, r) for c in data["comparisons"] for r in c["cells"]
           if r["verdict"] in ("regressed", "failed")]  # fmt: skip
    parts.append(f"<h2 id='summary'>{len(bad)} regression(s)</h2>")
    if bad:
        parts.append("<table><tr><th>run</th><th>created</th><th>cell</th><th>verdict</th>"
                     "<th>head / base</th></tr>")  # fmt: skip
        for c, r in bad:
            cell = html.escape(r["cell"])
            if r["cell"] in ids:
                cell = f'<a href="cells/{ids[r["cell"]]}.html">{cell}</a>'
            parts.append(
                f"<tr><td>{html.escape(c['head'])}</td><td>{html.escape(c['created'])}</td>"
                f"<td>{cell}</td><td><span class='badge {r['verdict']}'>{r['verdict']}</span>"
                f"</td><td class='num'>{fmt(r['ratio'] if r['ratio'] is not None else math.nan)}"
                "</td></tr>"
            )
        parts.append("</table>")
    parts.append("<h2>Run by run</h2>" if data["comparisons"] else "")
    for c in data["comparisons"]:
        counts = ", ".join(f"{n} {v}" for v, n in c.get("counts", {}).items() if n)
        parts.append(
            f"<h3>{html.escape(c['head'])} vs {html.escape(c['base'])}</h3>"
            f"<p class='note'>{html.escape(c['created'])} · {html.escape(c['git_sha'][:12])}"
            f" · {html.escape(counts or 'no cells compared')}</p>"
        )
        if c.get("error"):
            parts.append(f"<p class='warn'>not compared: {html.escape(c['error'])}</p>")
            continue
        parts += [f"<p class='warn'>{html.escape(w)}</p>" for w in c["warnings"]]
        if not c["cells"]:
            continue
        parts.append(
            "<table><tr><th>cell</th><th>verdict</th><th>head / base [95% CI]</th><th>p</th>"
            "<th>base</th><th>head</th><th>note</th></tr>"
        )
        for r in c["cells"]:
            nan = math.nan
            cell = html.escape(r["cell"])
            if r["cell"] in ids:
                cell = f'<a href="cells/{ids[r["cell"]]}.html">{cell}</a>'
            ratio = (
                f"{fmt(r['ratio'])} [{fmt(r['ci_low'] or nan)}, {fmt(r['ci_high'] or nan)}]"
                if r["ratio"] is not None
                else "–"
            )
            p = f"{r['p']:.1e}" if r["p"] is not None else "–"
            parts.append(
                f"<tr><td>{cell}</td><td><span class='badge {r['verdict']}'>{r['verdict']}"
                f"</span></td><td class='num'>{ratio}</td><td class='num'>{p}</td>"
                f"<td class='num'>{fmt(r['base'] if r['base'] is not None else nan)}</td>"
                f"<td class='num'>{fmt(r['head'] if r['head'] is not None else nan)}</td>"
                f"<td>{html.escape(r['note'][:200])}</td></tr>"
            )
        parts.append("</table>")
    return _page("Regressions", "\n".join(parts), data["generated"], len(data["runs"]))


# -- the site ---------------------------------------------------------------------


def find_report(run: Run, reports_dir: Path | None) -> Path | None:
    """reports/<run-id>/report.html (or one inside the run folder)."""
    for candidate in (
        (run.folder_in(reports_dir) / "report.html") if reports_dir else None,
        run.path / "report" / "report.html",
        run.path / "report.html",
    ):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def _copy_reports(
    runs: list[Run], site: Path, reports_dir: Path | None, make: bool
) -> dict[str, str]:
    """Each run's report under SITE/runs/<run-id>/; with `make`, write missing ones."""
    out = {}
    for run in runs:
        dest = run.folder_in(site / "runs")
        found = find_report(run, reports_dir)
        if found is not None:
            dest.mkdir(parents=True, exist_ok=True)
            for f in found.parent.iterdir():  # the report and its charts, not slides/
                if f.is_file() and not f.is_symlink():  # a link could pull in any file
                    shutil.copy2(f, dest / f.name)
        elif make:
            from bench.present.report import write_report

            write_report(run.path, dest)
        else:
            continue
        out[run.run_id] = f"runs/{quote(run.run_id)}/report.html"
    return out


SITE_MARK = ".wasinn-bench-site"  # written first into every site: what makes it provably ours
SITE_ENTRIES = {SITE_MARK, "index.html", "regressions.html", "style.css", "data.json", "cells",
                "runs"}  # fmt: skip


def is_our_site(folder: Path) -> bool:
    """A folder publish made: our mark inside, and nothing but what publish writes."""
    mark = folder / SITE_MARK
    if not folder.is_dir() or folder.is_symlink() or not mark.is_file() or mark.is_symlink():
        return False
    return mark.read_text() == SITE_FORMAT and {p.name for p in folder.iterdir()} <= SITE_ENTRIES


def _remove_ours(folder: Path) -> None:
    """Remove a folder publish made (a stale staging or old site); anything else stays."""
    if is_our_site(folder):
        shutil.rmtree(folder)


def _fill_site(tmp: Path, loaded: Loaded, options: dict[str, Any]) -> dict[str, Any]:
    reports = _copy_reports(loaded.runs, tmp, options["reports_dir"], options["make_reports"])
    data = build_data(loaded, options["x_axis"], options["metric"], options["factor"],
                      options["compare_metric"], reports)  # fmt: skip
    if not data["cells"]:
        raise PublishError("no measured cell in these runs")
    (tmp / "cells").mkdir()
    shutil.copy2(TEMPLATES / "style.css", tmp / "style.css")
    (tmp / "index.html").write_text(index_html(data))
    (tmp / "regressions.html").write_text(regressions_html(data))
    for cell in data["cells"]:
        (tmp / "cells" / f"{cell['id']}.html").write_text(cell_html(data, cell))
    (tmp / "data.json").write_text(json.dumps(data, indent=1, default=_json_default))
    return data


def _swap_in(tmp: Path, site: Path) -> None:
    if site.is_dir() and not any(site.iterdir()):
        site.rmdir()  # a folder made empty for us: nothing of the user's in it
    if site.exists():
        old = site.with_name(f".{site.name}-old")
        _remove_ours(old)
        site.rename(old)
        tmp.rename(site)
        _remove_ours(old)
    else:
        tmp.rename(site)


def write_site(
    run_dirs: list[str | Path], site: str | Path, x_axis: str = "time", metric: str = "overhead",
    factor: float = 1.10, compare_metric: str | None = None, reports_dir: str | Path | None = "reports",
    make_reports: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Build the site in a staging sibling folder, then swap it in. Returns data.json.

    Only a folder that is provably a site of ours (`is_our_site`) is replaced; staging
    folders left by a killed publish are removed on the next one (they carry the mark)."""
    loaded = load_runs(run_dirs)
    if not loaded.runs:
        raise PublishError(f"no usable run among {', '.join(map(str, run_dirs))}")
    site = Path(site)
    if site.is_symlink() or (site.exists() and not site.is_dir()):
        raise PublishError(f"{site}: not a folder; --out names the site folder to write")
    if site.exists() and any(site.iterdir()) and not is_our_site(site):
        raise PublishError(
            f"{site}: exists and is not a site made by publish (no {SITE_MARK}, or files "
            "publish did not write); choose another --out or empty it"
        )
    site.parent.mkdir(parents=True, exist_ok=True)
    for stale in site.parent.glob(f".{site.name}-staging-*"):
        _remove_ours(stale)
    tmp = site.with_name(f".{site.name}-staging-{os.getpid()}-{secrets.token_hex(4)}")
    tmp.mkdir()  # mkdir, not mkdtemp: the site gets the user's umask, not 0700
    (tmp / SITE_MARK).write_text(SITE_FORMAT)
    options = {"x_axis": x_axis, "metric": metric, "factor": factor,
               "compare_metric": compare_metric or metric, "make_reports": make_reports,
               "reports_dir": Path(reports_dir) if reports_dir else None}  # fmt: skip
    try:
        with terminate_as_interrupt():
            data = _fill_site(tmp, loaded, options)
            _swap_in(tmp, site)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return data


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON: {type(o).__name__}")
