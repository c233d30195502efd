"""What a run measures (`--measure`, docs/measures.md): the unit of every sample.

The samples' `ns` column (docs/results.md) holds the chosen measure per iteration and
phase: elapsed nanoseconds (`wall`), CPU nanoseconds of the host's process (`cpu`), or
instructions executed (`instructions`, counted by callgrind). Ratios, CIs, compare,
history and --target-ci work on whichever one the run used.
"""

from __future__ import annotations

from contracts.errors import UserError

WALL = "wall"
CPU = "cpu"
INSTRUCTIONS = "instructions"
MEASURES = (WALL, CPU, INSTRUCTIONS)
DEFAULT = WALL

# What one unit of the samples' `ns` column is, per measure.
UNITS = {WALL: "ns elapsed", CPU: "ns of CPU time", INSTRUCTIONS: "instructions"}


class UnknownMeasure(UserError):
    """--measure with a value that is not a measure."""


def check(name: str) -> str:
    """`name` if it is a measure, else UnknownMeasure naming the flag and the choices."""
    if name not in MEASURES:
        raise UnknownMeasure(f"--measure: unknown measure {name!r} (choose {'|'.join(MEASURES)})")
    return name
