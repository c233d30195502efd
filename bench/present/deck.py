"""The slides as one deck: deck.html, self-contained (every slide inline as PNG), one
slide per screen and per printed page, each scaled whole into the window (never cut)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

_CSS = """html,body{margin:0;background:#222}
section{height:100vh;display:flex;align-items:center;justify-content:center;
page-break-after:always;break-after:page}
img{max-width:100vw;max-height:100vh;width:auto;height:auto;object-fit:contain;background:#fff}
@media print{@page{size:1920px 1080px;margin:0}section{height:1080px}}"""


def write_deck(slides: list[Path], out: Path, title: str = "wasi-nn bench slides") -> Path:
    """deck.html beside the slides: each PNG inline, in the order given."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
    ]
    for p in slides:
        data = base64.b64encode(p.read_bytes()).decode()
        parts.append(
            f'<section id="{html.escape(p.stem)}"><img alt="{html.escape(p.stem)}" '
            f'src="data:image/png;base64,{data}"></section>'
        )
    parts.append("</body></html>")
    out.write_text("\n".join(parts))
    return out
