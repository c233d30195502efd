"""Facts about this machine, recorded with every run."""

from __future__ import annotations

import hashlib
import os
import platform
from functools import cache


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
