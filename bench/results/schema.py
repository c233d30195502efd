"""The result file format: column names shared by writer, readers and exporters.

A run folder `results/<run-id>/` holds (see docs/results.md):
  meta.json        machine, versions, git sha, models, backend properties
  samples.parquet  long form, one row per (cell, round, iteration, phase); `ns` holds the
                   run's measure (meta.json `measure`: wall | cpu | instructions)
  cells.csv        one row per cell as the runner saw it (status, reason, agreement, rss...)
  summary.csv      cells.csv joined with the statistics (bench.analyze.summarize)
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from contracts.phases import HOST_WORK_PHASES, ITERATION_PHASES, ROUND_PHASES

SCHEMA_VERSION = 1
NAN = float("nan")

# samples.parquet. Iteration phases have iteration >= 0; once-per-round host
# phases (compile, instantiate, load, init) are stored with iteration == -1.
SAMPLE_COLUMNS = [
    "run_id",
    "workload",
    "variant",
    "host",
    "backend",
    "device",
    "round",
    "iteration",
    "phase",
    "ns",  # the run's measure: ns elapsed (wall), ns of CPU time (cpu), or instructions
    "machine",  # machine fingerprint (kept per cell so merged shards stay honest)
]
# The machine's state during each round (contracts/machine.py: MachineState), on every
# row of the round; absent in runs from before they were recorded (readers: if present).
ROUND_STATE_COLUMNS = ["load1", "steal_pct", "others_cores", "cpu_mhz", "under_load"]

# cells.csv: what the runner knows about each cell, independent of statistics.
CELL_COLUMNS = [
    "workload",
    "model",
    "variant",
    "host",
    "backend",
    "device",
    "status",  # ok | failed | unsupported | skipped
    "reason",
    "rounds",  # rounds completed
    "agrees",  # outputs agree with the native baseline within the workload tolerance
    "max_abs_diff",
    "peak_rss_mb",
    "load_mode",  # bytes | name | "" (native)
    "model_sha256",
    "opset",  # the model's ONNX default-domain opset
    "onnx_ir_version",  # the model's ONNX IR version
    "openvino_ir_version",  # IR version of the model's OpenVINO twin (empty: no IR)
    "machine",
    "properties",  # JSON object of backend key-value strings
    "guest_properties",  # JSON object the guest got from the host's query ({}: none; docs/properties.md)
    "offline_k",  # concurrent instances in the offline-throughput pass (empty: not measured)
    "offline_ips",  # offline throughput, samples/s summed over those instances
    # generative workloads (docs/decoding.md), counted by the guest (native: by the host)
    "abi_bytes_per_token",  # bytes handed to + taken from wasi-nn per decode step
    "abi_bytes_in_per_token",  # handed over by set_input
    "abi_bytes_out_per_token",  # taken back by get_output
]


# summary.csv = CELL_COLUMNS + the fields of CellStats (all latencies from the
# per-iteration `total` phase) + PHASE_MEDIAN_COLUMNS. Each statistic is named once,
# as a field here: bench.analyze.stats.describe fills `Latency`, summarize `CellStats`.
@dataclass(frozen=True)
class Latency:
    """A cell's latency statistics in ms (NaN, n = 0: no samples)."""

    n: int  # samples (iterations over all rounds)
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    std_ms: float  # sample std (ddof=1)
    cv: float  # std / mean
    cv_robust: float  # IQR / 1.349 / median: the spread of the bulk, insensitive to rare spikes


@dataclass(frozen=True)
class CellStats(Latency):
    """summary.csv's statistics of one cell, in column order (STAT_COLUMNS)."""

    p50_ci_low_ms: float  # 95% CI of the median, rounds as the unit
    p50_ci_high_ms: float
    throughput_ips: float  # 1000 / p50_ms
    overhead_vs_native: float  # vs Cell.baseline: native host, backend called from Python
    overhead_ci_low: float
    overhead_ci_high: float
    overhead_vs_native_c: float  # vs Cell.native_c_baseline: the same C driver, compiled natively
    overhead_c_ci_low: float
    overhead_c_ci_high: float
    headline_vs: str  # native-c | native | "" : the baseline of the headline ratio
    headline_ci_pct: float  # widest 95% CI half-width of the cell's headline ratios, % of it
    target_ci_pct: float | None  # the run's --target-ci (empty: none)
    target_ci_met: bool | None  # headline_ci_pct <= target_ci_pct (empty: no target)
    binding_ms: float  # median per iteration of total - host work (wasmtime-py: binding + guest)
    binding_share: float  # binding_ms / p50_ms
    binding_bound: bool | None  # binding_share > BINDING_BOUND: the time is mostly binding


@dataclass(frozen=True)
class Decoding:
    """A generative cell's statistics (docs/decoding.md): its iterations are decode
    steps, one token each; NaN for every other cell."""

    ttft_ms: float = NAN  # time to first token: the prompt fed and the first token out (median)
    itl_p50_ms: float = NAN  # inter-token latency (one decode step, argmax included)
    itl_p90_ms: float = NAN
    itl_p99_ms: float = NAN
    tokens_per_s: float = NAN  # decode rate: 1000 / mean inter-token latency
    abi_share: float = NAN  # (set_input + get_output) / total, medians: the time moving data


STAT_COLUMNS = [f.name for f in (*fields(CellStats), *fields(Decoding))]
# plus "<phase>_p50_ms" for set_input, compute, get_output, compile, instantiate, load, init,
# and the host-work phases host_set_input, host_compute, host_get_output (wasmtime-py).
PHASE_MEDIAN_COLUMNS = [
    f"{p}_p50_ms" for p in (*ITERATION_PHASES, *ROUND_PHASES, *HOST_WORK_PHASES.values())
]
# builds side by side (--engine, two or more): each engine cell against the base
# build's same cell, measured interleaved (bench/analyze/builds.py); empty elsewhere
BUILD_COLUMNS = [
    "vs_engine_base",  # median total / the base build's, same cell, same rounds
    "vs_engine_base_low",  # its 95% CI (paired two-level bootstrap over rounds)
    "vs_engine_base_high",
    "engine_verdict",  # compare's rule: regressed | improved | unchanged
]
SUMMARY_COLUMNS = CELL_COLUMNS + STAT_COLUMNS + PHASE_MEDIAN_COLUMNS + BUILD_COLUMNS

NOISE_CV = 0.05
BINDING_BOUND = 0.5  # cells whose binding share of the total is above this are marked  # cells above this coefficient of variation get a visible noise warning
