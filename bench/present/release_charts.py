"""The "across releases" chart: one host in several versions in one run
(`--hosts wasmtime-cli@45.0.2,wasmtime-cli@49.0.4`), p50 per release with its CI,
one line per variant, one panel per (workload, backend, device).

The pinned `wasmtime-cli` counts as one more release (labelled "pinned").
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure, SubFigure

from bench.present import charts
from contracts.hosts import base_host, host_version, version_key

PINNED = "pinned"


def release_groups(summary: pd.DataFrame) -> dict[str, list[str]]:
    """{base host: its hosts in release order} for hosts measured in two or more versions."""
    df = charts.measured(summary)
    groups: dict[str, set[str]] = {}
    for host in df["host"].astype(str).unique():
        groups.setdefault(base_host(host), set()).add(host)
    out = {}
    for base, hosts in groups.items():
        if len(hosts) >= 2 and any(host_version(h) is not None for h in hosts):
            # the pinned one has no version in its name: put it last (it is the newest pin)
            out[base] = sorted(hosts, key=lambda h: (h == base, version_key(host_version(h) or "")))
    return out


def _label(host: str) -> str:
    version = host_version(host)
    return PINNED if version is None else version


def draw(target: Figure | SubFigure, df: pd.DataFrame, groups: dict[str, list[str]]) -> None:
    panels = [
        (base, g)
        for base, hosts in groups.items()
        for g, _ in df[df["host"].isin(hosts)].groupby(
            ["workload", "backend", "device"], sort=False
        )
    ]
    axes = target.subplots(1, len(panels), squeeze=False)[0]
    for ax, (base, (workload, backend, device)) in zip(axes, panels, strict=True):
        hosts = groups[base]
        d = df[(df["workload"] == workload) & (df["backend"] == backend) & (df["device"] == device)]
        x = {h: i for i, h in enumerate(hosts)}
        for variant, v in d[d["host"].isin(hosts)].groupby("variant", sort=False):
            v = v.assign(_x=v["host"].map(x)).sort_values("_x")
            y = v["p50_ms"].astype(float)
            err = [
                (y - v["p50_ci_low_ms"].astype(float)).clip(lower=0),
                (v["p50_ci_high_ms"].astype(float) - y).clip(lower=0),
            ]
            ax.errorbar(
                v["_x"], y, yerr=err, marker="o", capsize=3, color=charts.color(str(variant)),
                label=str(variant),
            )  # fmt: skip
        native = d[d["variant"] == "native"]["p50_ms"].astype(float)
        if not native.empty:  # the baseline of this run, for scale
            ax.axhline(float(native.iloc[0]), color=charts.color("native"), ls="--", lw=1)
        ax.set_xticks(range(len(hosts)), [_label(h) for h in hosts], rotation=30)
        ax.set_title(f"{base} · {workload} · {backend} · {device}")
        ax.set_xlabel(f"{base} release")
        ax.set_ylabel("latency p50 [ms] (95% CI; dashed: native)")
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="best")


def releases_chart(summary: pd.DataFrame, out: Path) -> list[Path]:
    """PNG + SVG `releases` when the run has a host in several versions, else []."""
    groups = release_groups(summary)
    if not groups:
        return []
    df = charts.measured(summary)
    count = sum(
        df[df["host"].isin(h)].groupby(["workload", "backend", "device"]).ngroups
        for h in groups.values()
    )
    with charts.style():
        fig = charts.figure(max(6.0, 5.5 * count), 4.5)
        fig.suptitle("Across releases: latency p50 per release (same run, interleaved)")
        draw(fig, df, groups)
        return charts.save(fig, out, "releases")
