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


def telling(text: str, program: str | None = None, keep: int = 5) -> str:
    """Up to `keep` lines of `text` joined with ' | ': the telling ones, else the last."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    prefixes = ("error",) + ((f"{program.lower()}:",) if program else ())
    told = [ln for ln in lines if ln.lower().startswith(prefixes) or EXCEPTION.match(ln)]
    return " | ".join((told or lines)[-keep:])


def telling_file(path: Path, program: str | None = None, keep: int = 5) -> str:
    """`telling` of a file's text; '' when the file is missing or unreadable."""
    try:
        return telling(path.read_text(errors="replace"), program, keep)
    except OSError:
        return ""
