"""`wasinn-bench report RUN_DIR [--out DIR] [--slides]`: report.md, a self-contained
report.html (charts inlined as base64 PNG) and the charts as PNG + SVG.

The report is built once as a list of blocks and rendered to both Markdown and
HTML, so the two never disagree.
"""

from __future__ import annotations

import base64
import html
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.analyze import decoding, stats
from bench.analyze.answers import Answer, answers
from bench.analyze.load import load_sentence
from bench.analyze.runs import Run, load_run
from bench.analyze.summarize import (
    PROGRAM_UNIT,
    binding_cost,
    phase_ms,
    program_rows,
    variant_ratios,
)
from bench.present import answers as answers_view
from bench.present import builds, charts, release_charts
from bench.present.markdown import md, md_code
from bench.present.slides import write_slides
from bench.results.schema import NOISE_CV
from contracts.phases import ITERATION_PHASES, TOTAL


@dataclass
class Block:
    kind: str  # h1 | h2 | p | li | warn | table | img | pre
    text: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    image: Path | None = None


def _num(v: object, fmt: str = ".3f") -> str:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(v)
    return "" if math.isnan(f) else format(f, fmt)


def noisy_cells(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[summary["cv"].astype(float) > NOISE_CV]


def _cell(r: pd.Series) -> str:
    return f"{r['workload']} / {r['variant']} / {r['host']} / {r['backend']} / {r['device']}"


def summary_table(summary: pd.DataFrame, versus: str = "× native [CI]") -> Block:
    """The cells in a table that fits a 1400-px page; tails and throughput are in
    detail_table. `versus`: the header of the overhead column (programs: × preview1)."""
    header = [
        "workload", "variant", "host", "backend", "device", "status", "p50 ms [95% CI]",
        "CV (robust)", versus, "× native-c [CI]", "CI ±%", "binding", "agrees",
    ]  # fmt: skip
    rows = []
    for _, r in summary.iterrows():
        cv = _num(r["cv"], ".1%")
        if cv and float(r["cv"]) > NOISE_CV:
            cv = f"⚠ {cv}"
        if cv and "cv_robust" in r and not pd.isna(r["cv_robust"]):
            cv += f" ({_num(r['cv_robust'], '.1%')})"
        ov = _num(r["overhead_vs_native"], ".2f")
        if ov and r["variant"] != "native":
            ov += f" [{_num(r['overhead_ci_low'], '.2f')}, {_num(r['overhead_ci_high'], '.2f')}]"
        ovc = _ratio_ci(r, "overhead_vs_native_c", "overhead_c_ci_low", "overhead_c_ci_high")
        p50 = _num(r["p50_ms"])
        if not pd.isna(r["p50_ci_low_ms"]):
            p50 += f" [{_num(r['p50_ci_low_ms'])}, {_num(r['p50_ci_high_ms'])}]"
        rows.append(
            [
                str(r["workload"]), str(r["variant"]), str(r["host"]), str(r["backend"]),
                str(r["device"]), str(r["status"]), p50, cv, ov, ovc, _precision(r), _binding(r),
                "" if pd.isna(r["agrees"]) else str(r["agrees"]),
            ]
        )  # fmt: skip
    return Block("table", header=header, rows=rows)


def detail_table(summary: pd.DataFrame) -> Block:
    """The measured cells' tails and throughput: n, p90, p99, single-stream and offline."""
    header = ["cell", "n", "p90 ms", "p99 ms", "inf/s"]
    ok = summary[summary["status"] == "ok"]
    rows = [
        [_cell(r), str(int(r["n"])), _num(r["p90_ms"]), _num(r["p99_ms"]),
         _num(r["throughput_ips"], ".1f")]
        for _, r in ok.iterrows()
    ]  # fmt: skip
    if "offline_ips" in summary and summary["offline_ips"].notna().any():
        header.insert(header.index("inf/s") + 1, "offline inf/s")
        at = header.index("offline inf/s")
        for row, (_, r) in zip(rows, ok.iterrows(), strict=True):
            k = "" if pd.isna(r.get("offline_k")) else f" (×{int(r['offline_k'])})"
            row.insert(
                at, _num(r["offline_ips"], ".1f") + (k if not pd.isna(r["offline_ips"]) else "")
            )
    return Block("table", header=header, rows=rows)


def _ratio_ci(r: pd.Series, value: str, low: str, high: str) -> str:
    if value not in r or pd.isna(r[value]):
        return ""
    text = _num(r[value], ".2f")
    return text if r["variant"] == "native" and r[value] == 1 else (
        f"{text} [{_num(r[low], '.2f')}, {_num(r[high], '.2f')}]"
    )  # fmt: skip


def _precision(r: pd.Series) -> str:
    """Headline CI half-width; ✓/✗ against the run's --target-ci."""
    width = _num(r.get("headline_ci_pct"), ".1f")
    met = str(r.get("target_ci_met", "")).strip().lower()
    if not width or met not in ("true", "false"):
        return width
    return f"{width} {'✓' if met == 'true' else '✗'} (vs {r.get('headline_vs', '')})"


def _binding(r: pd.Series) -> str:
    share = r.get("binding_share")
    if share is None or pd.isna(share):
        return ""
    return _num(share, ".0%") + (" binding-bound" if charts.binding_bound(r) else "")


BASELINE_ADVICE = (
    "Which baseline to read: for wasmtime-cli cells, × native-c (the same C driver "
    "compiled natively: the cost of wasm alone); for wasmtime-py cells, × native-c for the "
    "cost of the ABI, with wasmtime-py's own binding cost shown apart (section \"Host binding "
    'cost"); × native (the backend called from Python) stays for continuity.'
)


def precision_blocks(run: Run, s: pd.DataFrame) -> list[Block]:
    """--target-ci: why the run stopped, and the cells that did not reach the target."""
    config = run.meta.get("config") or {}
    target = config.get("target_ci")
    if not target:
        return []
    met = s["target_ci_met"].astype(str).str.lower()
    wasm = s[met.isin(["true", "false"])]
    missed = wasm[met[wasm.index] == "false"]
    text = (
        f"Run with --target-ci {target['pct']:g}% (headline 95% CI half-width; --max-time "
        f"{target['max_time_s']:g}s): {len(wasm) - len(missed)} of {len(wasm)} wasm cells "
        f"reached it. Stopped: {md(config.get('stop_reason') or 'not recorded (interrupted?)')}."
    )
    blocks = [Block("h2", "Precision"), Block("p", text)]
    if not missed.empty:
        blocks.append(
            Block(
                "table",
                header=["cell", "headline vs", "CI ±% reached", "target ±%"],
                rows=[
                    [
                        _cell(r),
                        str(r["headline_vs"]),
                        _num(r["headline_ci_pct"], ".2f"),
                        _num(r["target_ci_pct"], "g"),
                    ]
                    for _, r in missed.iterrows()
                ],
            )  # fmt: skip
        )
    return blocks


def binding_blocks(run: Run, s: pd.DataFrame, out: Path) -> list[Block]:
    """wasmtime-py cells: host work vs binding + guest per phase, and the binding's
    measured cost per MB of list<u8> on this wasmtime-py."""
    paths = charts.binding_chart(s, out)
    if not paths:
        return []
    io = {n: int(w.get("io_bytes") or 0) for n, w in (run.meta.get("workloads") or {}).items()}
    cost = binding_cost(s, io)
    bound = s[s.apply(charts.binding_bound, axis=1)] if "binding_bound" in s else s.iloc[:0]
    version = (run.meta.get("packages") or {}).get("wasmtime", "?")
    text = (
        "The wasmtime-py hosts time their own work inside every wasi-nn host call "
        "(`host_set_input`, `host_compute`, `host_get_output`); the rest of each guest-timed "
        "phase is the binding (wasmtime-py lifting/lowering values, the call) plus the guest. "
        f"Binding-bound cells (binding > 50% of the total): {len(bound)}"
        + (": " + ", ".join(md(_cell(r)) for _, r in bound.iterrows()) if len(bound) else "")
        + "."
    )
    blocks = [Block("h2", "Host binding cost"), Block("p", text)]
    if not cost.empty:
        big = cost.loc[cost["io_mb"].idxmax()]
        blocks.append(
            Block(
                "p",
                f"Measured list<u8> conversion on wasmtime-py {version}: "
                f"{big['ms_per_mb']:.1f} ms per MB moved ({big['workload']}, {big['variant']}: "
                f"{big['binding_io_ms']:.2f} ms of set_input + get_output outside the host "
                f"for {big['io_mb']:.3f} MB per iteration; small tensors overstate it: the "
                "per-call cost is in it).",
            )
        )
        blocks.append(
            Block(
                "table",
                header=["cell", "MB per iteration", "binding ms (set_input+get_output)", "ms/MB"],
                rows=[
                    [
                        _cell(r),
                        _num(r["io_mb"], ".4f"),
                        _num(r["binding_io_ms"], ".3f"),
                        _num(r["ms_per_mb"], ".1f"),
                    ]
                    for _, r in cost.iterrows()
                ],
            )  # fmt: skip
        )
    blocks += [Block("img", text="binding", image=paths[0]),
               Block("p", f"SVG: [{paths[1].name}]({paths[1].name})")]  # fmt: skip
    return blocks


DECODING_TEXT = (
    "Greedy decoding, one token per compute (argmax in the guest). Per token = one decode "
    "step (set_input + compute + get_output + argmax), median; TTFT = the prompt fed one "
    "token per step plus the first token; ABI share = (set_input + get_output) / per-token "
    "time: moving the token, its position and (kv = io) the whole KV cache across wasi-nn. "
    "Bytes are counted by the guest, per step."
)
DECODING_HEADER = [
    "workload", "kv", "variant", "host", "per token ms", "TTFT ms", "tokens/s", "set_input ms",
    "compute ms", "get_output ms", "ABI share", "bytes/token", "× native-c", "same tokens",
]  # fmt: skip
SAVING_TEXT = (
    "Keeping the cache in the backend: per-token time with the cache crossing wasi-nn "
    "(kv = io) over the same decoder keeping it as OpenVINO state (kv = state), same cell, "
    "same rounds; a CI that includes 1 is no finding."
)
SAVING_HEADER = ["variant", "host", "backend", "io ms/token", "state ms/token",
                 "io / state [95% CI]"]  # fmt: skip


def decoding_blocks(run: Run, s: pd.DataFrame) -> list[Block]:
    """Generative workloads (docs/decoding.md): per-token cost by variant and KV mode,
    the share of each token spent moving data across wasi-nn, and the measured saving
    of keeping the KV cache in the backend (io vs state, paired over rounds)."""
    table = decoding.per_token(s, run.meta)
    if table.empty:
        return []
    rows = [
        [str(r[c]) for c in ("workload", "kv", "variant", "host")]
        + [_num(r["itl_p50_ms"]), _num(r["ttft_ms"], ".2f"), _num(r["tokens_per_s"], ".0f")]
        + [_num(r[f"{p}_p50_ms"]) for p in ITERATION_PHASES]
        + [_num(r["abi_share"], ".0%"), _bytes(r["abi_bytes_per_token"])]
        + [_num(r["overhead_vs_native_c"], ".2f"), str(r["agrees"])]
        for _, r in table.iterrows()
    ]
    blocks = [Block("h2", "Decoding"), Block("p", DECODING_TEXT),
              Block("table", header=DECODING_HEADER, rows=rows)]  # fmt: skip
    saving = decoding.savings(run.samples, s, run.meta)
    if not saving.empty:
        rows = [
            [str(r["variant"]), str(r["host"]), str(r["backend"]), _num(r["io_itl_ms"]),
             _num(r["state_itl_ms"]),
             f"{r['ratio']:.2f}× [{r['ci_low']:.2f}, {r['ci_high']:.2f}]"]
            for _, r in saving.iterrows()
        ]  # fmt: skip
        blocks += [Block("p", SAVING_TEXT), Block("table", header=SAVING_HEADER, rows=rows)]
    return blocks


def _bytes(v: object) -> str:
    try:
        n = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "-"
    if math.isnan(n):
        return "-"
    return f"{n / 2**20:.2f} MiB" if n >= 2**20 else f"{n:.0f} B"


def meta_block(run: Run) -> Block:
    m = run.meta
    machine = m.get("machine") or {}
    rows = [
        ["run id", run.run_id],
        ["created", str(m.get("created", ""))],
        ["git sha", str(m.get("git_sha", ""))],
        ["machine", f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores"],
        ["fingerprint", str(machine.get("fingerprint", ""))],
        ["os", str(machine.get("os", ""))],
        ["python", str(machine.get("python", ""))],
    ]
    for k in ("shard", "synthetic"):
        if k in m:
            rows.append([k, str(m[k])])
    for name, version in sorted((m.get("packages") or {}).items()):
        rows.append([name, str(version)])
    for name, info in sorted((m.get("models") or {}).items()):
        if isinstance(info, dict):
            desc = f"sha256 {str(info.get('sha256', ''))[:12]}, opset {info.get('opset', '?')}"
        else:
            desc = str(info)
        rows.append([f"model {name}", desc])
    for name, info in sorted((m.get("backends") or {}).items()):
        rows.append([f"backend {name}", str(info)])
    if m.get("config"):
        rows.append(["config", str(m["config"])])
    return Block("table", header=["", ""], rows=rows)


def answer_blocks(found: list[Answer], out: Path, measure: str = "wall") -> list[Block]:
    """The working group's question answered first: one sentence per answer, grouped
    (the runtime; our Python host apart), then one chart of them all."""
    if not found:
        return [
            Block("h2", "The answer"),
            Block("p", "This run has no wasm cell with a reference measured beside it "
                       "(preview1, native-c or native): nothing to answer."),
        ]  # fmt: skip
    blocks = [
        Block("h2", "The answer"),
        Block(
            "p",
            "Per workload and host: adapted and component vs preview1, and each wasm variant "
            "vs native-c (vs native where native-c was not measured), as the ratio of the "
            "per-iteration time measured side by side in this run, 95% CI over rounds. A "
            "difference whose CI includes zero is no measurable difference.",
        ),
    ]
    for title, items in answers_view.groups(found):
        blocks.append(Block("p", md(f"{title[0].upper()}{title[1:]}:")))
        blocks += [Block("li", md(answers_view.sentence(a, measure))) for a in items]
    paths = answers_view.answer_chart(found, out)
    if paths:
        blocks += [Block("img", text="the answer", image=paths[0]),
                   Block("p", f"SVG: [{paths[1].name}]({paths[1].name})")]  # fmt: skip
    return blocks


def intro_blocks(run: Run, s: pd.DataFrame) -> list[Block]:
    """The title, the cell counts and how to read the ratios, and what the run lacks."""
    blocks = [Block("h1", f"wasi-nn bench report: {md(run.run_id)}")]
    ok = int((s["status"] == "ok").sum())
    blocks.append(
        Block(
            "p",
            f"{len(s)} cells: {ok} ok, {int((s['status'] == 'failed').sum())} failed, "
            f"{int((s['status'] == 'unsupported').sum())} unsupported, "
            f"{int((s['status'] == 'skipped').sum())} skipped. Measure: {run.measure}. "
            "Latency = per-iteration "
            "`total` phase; CIs are 95% bootstrap intervals of the median; "
            "× native = p50 ratio to the native cell of the same workload, backend and "
            "device in this run (program workloads, which have none: to the preview1 cell "
            "of the same host); × native-c = the same against the native-c cell (the C "
            "driver compiled natively).",
        )
    )
    blocks.append(Block("p", BASELINE_ADVICE))
    if state := load_sentence(run.meta, run.samples):  # docs/measures.md
        blocks.append(Block("p", md(state)))
    if "overhead_vs_native_c" in s and s["overhead_vs_native_c"].isna().all():
        blocks.append(
            Block(
                "p",
                "native-c was not measured in this run: × native-c is empty and the "
                "headline ratios are × native.",
            )  # fmt: skip
        )
    if run.meta.get("interrupted"):
        incomplete = s[
            (s["status"] == "ok") & (s["rounds"].astype(float) < _planned_rounds(run, s))
        ]
        blocks.append(
            Block(
                "warn",
                f"⚠ Interrupted run: not every round finished ({len(incomplete)} cell(s) have fewer "
                f"rounds than planned; cells not run are listed as skipped). Finish it with "
                f"{md_code(f'wasinn-bench run --resume {run.path}')}.",
            )
        )
    return blocks


def warning_blocks(s: pd.DataFrame) -> list[Block]:
    """Noisy cells and outputs that differ from their baseline."""
    blocks: list[Block] = []
    noisy = noisy_cells(s)
    if not noisy.empty:  # one line with a count: the cells are marked ⚠ in the table
        measured = int((s["status"] == "ok").sum())
        blocks.append(
            Block(
                "warn",
                f"⚠ Noise warning: {len(noisy)} of {measured} measured cells have a CV above "
                f"{NOISE_CV:.0%} (marked ⚠ in the table): a difference within its CI is not a "
                "finding.",
            )
        )
    disagree = s[(s["status"] == "ok") & (s["agrees"].astype(str).str.lower() == "false")]
    if not disagree.empty:
        names = ", ".join(md(_cell(r)) for _, r in disagree.iterrows())
        blocks.append(Block("warn", f"⚠ Outputs differ from the native baseline: {names}."))
    return blocks


def not_run_blocks(s: pd.DataFrame) -> list[Block]:
    """The cells that did not run, with their reasons."""
    blocks: list[Block] = []
    bad = s[s["status"] != "ok"]
    if not bad.empty:
        blocks.append(Block("h2", "Cells that did not run"))
        blocks.append(
            Block(
                "table",
                header=["cell", "status", "reason"],
                rows=[[_cell(r), str(r["status"]), str(r["reason"])] for _, r in bad.iterrows()],
            )
        )
    return blocks


def ratio_blocks(ratios: pd.DataFrame) -> list[Block]:
    """Variants side by side: each variant against preview1 on the same host."""
    if ratios.empty:
        return []
    blocks = [Block("h2", "Variants side by side (vs preview1, same run)")]
    blocks.append(
        Block(
            "p",
            "Median ratio of the per-iteration total to the preview1 cell of the same host, "
            "backend and device, with a 95% bootstrap CI; the Δ columns say where the "
            "difference goes (change of each phase's median, µs).",
        )
    )
    blocks.append(
        Block(
            "table",
            header=[
                "workload",
                "host",
                "backend",
                "device",
                "variant",
                "vs preview1",
                "Δ total µs",
                "Δ set_input µs",
                "Δ compute µs",
                "Δ get_output µs",
            ],  # fmt: skip
            rows=[
                [
                    str(r["workload"]),
                    str(r["host"]),
                    str(r["backend"]),
                    str(r["device"]),
                    str(r["variant"]),
                    stats.Ratio(r["ratio"], r["ci_low"], r["ci_high"]).pct(),
                    *(_num(r[f"delta_{p}_us"], "+.1f") for p in (TOTAL, *ITERATION_PHASES)),
                ]
                for _, r in ratios.iterrows()
            ],  # fmt: skip
        )
    )
    return blocks


def builds_blocks(run: Run) -> list[Block]:
    """Builds side by side (--engine, two or more builds; bench/present/builds.py), and
    the builds whose preview1 wasi-nn is gone while adapted runs."""
    base, df = builds.of_run(run)
    blocks: list[Block] = []
    if base is not None and not df.empty:
        blocks.append(Block("h2", "Builds side by side"))
        blocks.append(Block("p", builds.intro(base, df)))
        blocks.append(Block("table", header=builds.HEADER, rows=builds.rows(df)))
    gone = builds.gone_lines(run.cells)
    if gone:
        blocks.append(Block("h2", "Preview1 gone"))
        blocks += [Block("p", line) for line in gone]
    return blocks


def build(run: Run, out: Path, ratios: pd.DataFrame, found: list[Answer]) -> list[Block]:
    """Write the charts into `out` and return the report's blocks; `ratios` is
    variant_ratios(run.samples), `found` answers(run.samples, run.summary)."""
    s = run.summary
    totals = phase_ms(run.samples, "total")
    intro = intro_blocks(run, s)  # the title, then the answer first
    blocks = intro[:1] + answer_blocks(found, out, run.measure) + warning_blocks(s)
    programs = program_rows(s)  # their unit is a region or a run, their reference preview1
    blocks += intro[1:] + [Block("h2", "Summary")]
    if not programs.all():
        blocks.append(summary_table(s[~programs]))
    if programs.any():
        blocks += [Block("h2", "Program workloads"), Block("p", PROGRAM_UNIT[0].upper() + PROGRAM_UNIT[1:] + "."),
                   summary_table(s[programs], "× preview1 [CI]")]  # fmt: skip
    blocks += precision_blocks(run, s)
    if (s["status"] == "ok").any():
        blocks += [Block("h2", "Tails and throughput"), detail_table(s)]
    blocks += not_run_blocks(s) + ratio_blocks(ratios) + builds_blocks(run)
    charts_made = [
        ("Latency per cell", charts.latency_chart(s, out)),
        ("Latency distributions", charts.distribution_chart(s, totals, out)),
        ("Overhead vs native", charts.overhead_chart(s, out)),
        ("Overhead vs native-c", charts.overhead_c_chart(s, out)),
        # only when a host ran in several releases (wasmtime-cli@X): bench/present/release_charts.py
        ("Across releases", release_charts.releases_chart(s, out)),
    ]
    for title, paths in charts_made:
        if paths:
            blocks.append(Block("h2", title))
            blocks.append(Block("img", text=title, image=paths[0]))
            blocks.append(Block("p", f"SVG: [{paths[1].name}]({paths[1].name})"))
    blocks += decoding_blocks(run, s)
    blocks += binding_blocks(run, s, out)
    blocks += [Block("h2", "Run"), meta_block(run)]
    return blocks


def _planned_rounds(run: Run, s: pd.DataFrame) -> pd.Series:
    planned = {name: w.get("rounds", 0) for name, w in (run.meta.get("workloads") or {}).items()}
    return s["workload"].map(planned).fillna(0).astype(float)


def to_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for i, b in enumerate(blocks):
        if b.kind == "h1":
            out.append(f"# {b.text}")
        elif b.kind == "h2":
            out.append(f"## {b.text}")
        elif b.kind == "p":
            out.append(b.text)
        elif b.kind == "li":
            out.append(f"- {b.text}")
            if i + 1 < len(blocks) and blocks[i + 1].kind == "li":
                continue  # list items stay together
        elif b.kind == "warn":
            out.append(f"> **{b.text}**")
        elif b.kind == "img":
            assert b.image is not None
            out.append(f"![{b.text}]({b.image.name})")
        elif b.kind == "table":
            out.append("| " + " | ".join(b.header) + " |")  # our own words
            out.append("|" + "---|" * len(b.header))
            out += ["| " + " | ".join(md(c) for c in row) + " |" for row in b.rows]
        out.append("")
    return "\n".join(out)


_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;font-size:0.85em}td,th{border:1px solid #ccc;padding:2px 6px}
th{background:#eee}.warn{background:#fff3cd;border:2px solid #e0a800;padding:0.6em;
font-weight:bold}img{max-width:100%}code{background:#f4f4f4}
p.answer{margin:0.2em 0 0.2em 1.2em}"""


INLINE = re.compile(r"\\(.)|`([^`]+)`|\[([^\]]+)\]\(([^)]+)\)")


def _inline_md(text: str) -> str:
    """The few inline Markdown forms the blocks use, in one pass: a backslash escape
    (bench/present/markdown.py) is its character, `code` is code, and a [text](file)
    link becomes a plain name: the HTML must stand alone, without the files beside it."""

    def one(m: re.Match[str]) -> str:
        escaped, code, link = m[1], m[2], m[3]
        if escaped is not None:
            return html.escape(escaped)
        return f"<code>{html.escape(code if code is not None else link)}</code>"

    out, at = [], 0
    for m in INLINE.finditer(text):
        out += [html.escape(text[at : m.start()]), one(m)]
        at = m.end()
    return "".join([*out, html.escape(text[at:])])


def _plain(text: str) -> str:
    """A block's text without its Markdown escapes (the HTML <title>)."""
    return re.sub(r"\\(.)", r"\1", text)


def to_html(blocks: list[Block]) -> str:
    title = next((b.text for b in blocks if b.kind == "h1"), "report")
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(_plain(title))}</title><style>{_CSS}</style></head><body>",
    ]
    for b in blocks:
        if b.kind in ("h1", "h2"):
            out.append(f"<{b.kind}>{_inline_md(b.text)}</{b.kind}>")
        elif b.kind == "p":
            # SVG links point at files next to report.md; in the self-contained
            # HTML the PNG is already inline, so drop them.
            if not b.text.startswith("SVG: "):
                out.append(f"<p>{_inline_md(b.text)}</p>")
        elif b.kind == "li":
            out.append(f'<p class="answer">{_inline_md(b.text)}</p>')
        elif b.kind == "warn":
            out.append(f'<p class="warn">{_inline_md(b.text)}</p>')
        elif b.kind == "img":
            assert b.image is not None
            data = base64.b64encode(b.image.read_bytes()).decode()
            out.append(f'<img alt="{html.escape(b.text)}" src="data:image/png;base64,{data}">')
        elif b.kind == "table":
            out.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in b.header))
            for row in b.rows:
                cls = ' class="noisy"' if any(c.startswith("⚠") for c in row) else ""
                cells = "".join(f"<td>{html.escape(c)}</td>" for c in row)
                out.append(f"<tr{cls}>{cells}</tr>")
            out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)


def write_report(run_dir: str | Path, out: str | Path | None = None, slides: bool = False) -> Path:
    """Write report.md, report.html and the charts; returns the report.md path.
    Default folder: reports/<run-id>/. With `slides`, also <out>/slides/*.png|svg."""
    run = load_run(run_dir)
    out = Path(out) if out is not None else run.folder_in(Path("reports"))
    out.mkdir(parents=True, exist_ok=True)
    ratios = variant_ratios(run.samples)  # one computation for the table and the slide titles
    found = answers(run.samples, run.summary)  # one computation for the report and slides
    blocks = build(run, out, ratios, found)
    if slides:
        totals = phase_ms(run.samples, "total")
        paths = write_slides(run.summary, totals, found, out / "slides", builds.of_run(run)[1])
        if paths:
            blocks.insert(-2, Block("h2", "Slides"))
            listing = ", ".join(f"[{p.name}](slides/{p.name})" for p in paths)
            blocks.insert(-2, Block("p", f"The deck: `slides/deck.html` (16:9, one slide per "
                                         f"page); the slides: {listing}"))  # fmt: skip
    (out / "report.md").write_text(to_markdown(blocks))
    (out / "report.html").write_text(to_html(blocks))
    return out / "report.md"
