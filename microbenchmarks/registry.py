"""Results the micro-benchmarks share with conftest's summary tables."""

from __future__ import annotations

# (kind, size, path) -> median seconds, e.g. ("in", 602112, "fast")
TRANSFER: dict[tuple[str, int, str], float] = {}
# api -> median seconds per trivial host call
PER_CALL: dict[str, float] = {}
# variant -> {phase: median ns per iteration} (driver on a tiny model)
DRIVER: dict[str, dict[str, float]] = {}


def tables() -> list[tuple[str, list[str]]]:
    out = []
    if TRANSFER:
        sizes = sorted({size for _, size, _ in TRANSFER})
        lines = [f"{'direction':<10}{'bytes':>10}{'fast ms':>10}{'stock ms':>10}{'speed-up':>10}"]
        for kind in ("in", "out"):
            for size in sizes:
                fast = TRANSFER.get((kind, size, "fast"))
                stock = TRANSFER.get((kind, size, "stock"))
                ratio = f"{stock / fast:.1f}x" if fast and stock else "-"
                lines.append(f"{kind:<10}{size:>10}{_ms(fast):>10}{_ms(stock):>10}{ratio:>10}")
        out.append(("list<u8> transfer, one host call (wasmtime-py, medians)", lines))
    if PER_CALL:
        lines = [f"{api:<40}{seconds * 1e6:>8.2f} us" for api, seconds in PER_CALL.items()]
        out.append(("trivial host call (wasmtime-py, medians)", lines))
    if DRIVER:
        phases = ("set_input", "compute", "get_output", "total")
        lines = [f"{'variant':<12}" + "".join(f"{p + ' us':>16}" for p in phases)]
        for variant, medians in DRIVER.items():
            lines.append(f"{variant:<12}" + "".join(f"{medians[p] / 1e3:>16.1f}" for p in phases))
        out.append(("driver on a tiny model, guest-timed per iteration (medians)", lines))
    return out


def _ms(seconds: float | None) -> str:
    return f"{seconds * 1e3:.1f}" if seconds is not None else "-"
