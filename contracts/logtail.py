"""The lines of a program's stderr that explain a failure, for a cell's reason.

A program that fails often prints its error and then pages of usage or context
(the driver's usage text, a traceback): the last lines alone miss the one that
says why. So lines that start with the program's name (`driver: ...`), with
`error`, or with an exception name (`ValueError: ...`) come first.
"""

from __future__ import annotations

import re
from pathlib import Path

EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b")
# What a guest or a program may print (each of stdout and stderr): past it a worker is
# killed, a program's run fails, and only the last TAIL_BYTES are read for a reason.
MAX_OUTPUT_BYTES = 16 << 20
TAIL_BYTES = 1 << 20


def read_tail(path: Path, limit: int = TAIL_BYTES) -> str:
    """The last `limit` bytes of a file a guest wrote, as text ('' when unreadable):
    a guest may print a gigabyte; its end is what explains a failure."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, 2) - limit))
            return f.read(limit).decode(errors="replace")
    except OSError:
        return ""


def telling(text: str, program: str | None = None, keep: int = 5) -> str:
    """Up to `keep` lines of `text` joined with ' | ': the telling ones, else the last."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    prefixes = ("error",) + ((f"{program.lower()}:",) if program else ())
    told = [ln for ln in lines if ln.lower().startswith(prefixes) or EXCEPTION.match(ln)]
    return " | ".join((told or lines)[-keep:])


def telling_file(path: Path, program: str | None = None, keep: int = 5) -> str:
    """`telling` of a file's text; '' when the file is missing or unreadable."""
    return telling(read_tail(path), program, keep)
