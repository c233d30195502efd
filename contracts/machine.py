"""Facts about this machine, recorded with every run."""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@cache
def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> dict[str, object]:
    info: dict[str, object] = {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "arch": platform.machine(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "hostname": platform.node(),
    }
    try:
        with open("/proc/meminfo") as f:
            info["mem_total_kb"] = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    # The fingerprint groups runs that are comparable: same CPU model, core count, arch.
    key = f"{info['cpu']}|{info['cores']}|{info['arch']}"
    info["fingerprint"] = hashlib.sha256(key.encode()).hexdigest()[:12]
    return info


# --- the machine's state while measuring (docs/measures.md#machine-state) ---

# A round is "under load" when other processes kept at least this many cores busy on
# average during it, or the hypervisor stole at least STEAL_PCT of the CPU time.
BUSY_CORES = 0.5
STEAL_PCT = 5.0


@dataclass(frozen=True)
class CpuTimes:
    """/proc/stat's first line, in seconds summed over every core."""

    total: float
    idle: float  # idle + iowait
    steal: float


def cpu_times() -> CpuTimes | None:
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal (guest time is inside user)
    ticks = [int(x) for x in fields[1:9]] + [0] * max(0, 9 - len(fields))
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    return CpuTimes(sum(ticks[:8]) / hz, (ticks[3] + ticks[4]) / hz, ticks[7] / hz)


def cpu_mhz() -> float | None:
    """Mean current frequency of the cores (cpufreq, else /proc/cpuinfo); None: unknown."""
    khz = []
    for path in sorted(Path("/sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq/scaling_cur_freq")):
        with contextlib.suppress(OSError, ValueError):
            khz.append(int(path.read_text()))
    if khz:
        return round(sum(khz) / len(khz) / 1000, 1)
    mhz = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                with contextlib.suppress(ValueError):
                    mhz.append(float(line.split(":", 1)[1]))
    return round(sum(mhz) / len(mhz), 1) if mhz else None


def _own_cpu_s() -> float:
    """CPU seconds of this process and its waited-for children (a worker's host child)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@dataclass(frozen=True)
class MachineState:
    load1: float  # 1-minute load average at the window's start
    steal_pct: float  # % of the machine's CPU time stolen by the hypervisor in the window
    others_cores: float  # cores kept busy by other processes, on average over the window
    cpu_mhz: float | None  # mean core frequency at the window's start
    under_load: bool  # others_cores >= BUSY_CORES or steal_pct >= STEAL_PCT

    def describe(self) -> str:
        mhz = f", {self.cpu_mhz:.0f} MHz" if self.cpu_mhz else ""
        return (f"load average {self.load1:.2f} on {os.cpu_count()} cores, other processes "
                f"busy on {self.others_cores:.1f} cores, steal {self.steal_pct:.1f}%{mhz}")  # fmt: skip


class StateWindow:
    """The machine's state over a stretch of time (a round, or a pause before a run):
    other processes' CPU use is the machine's busy time minus this process's own."""

    def __init__(self) -> None:
        self.load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        self.mhz = cpu_mhz()
        self.times = cpu_times()
        self.own = _own_cpu_s()

    def close(self) -> MachineState:
        end, own = cpu_times(), _own_cpu_s()
        steal_pct = others = 0.0
        if self.times is not None and end is not None and end.total > self.times.total:
            span = end.total - self.times.total  # core-seconds elapsed, all cores together
            busy = span - (end.idle - self.times.idle)
            steal = end.steal - self.times.steal
            cores = span / (os.cpu_count() or 1)  # wall seconds of the window
            steal_pct = 100 * steal / span
            others = max(0.0, (busy - steal - (own - self.own)) / cores) if cores > 0 else 0.0
        loaded = others >= BUSY_CORES or steal_pct >= STEAL_PCT
        return MachineState(
            round(self.load1, 2), round(steal_pct, 2), round(others, 2), self.mhz, loaded
        )


def sample_state(seconds: float = 1.0) -> MachineState:
    """The machine's state now, watched for `seconds` (before a run starts measuring)."""
    import time

    window = StateWindow()
    time.sleep(seconds)
    return window.close()
