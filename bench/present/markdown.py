"""Text from run folders into Markdown, inert (docs/reliability.md).

Names, reasons, paths and run ids come from run folders that travel between machines,
so in report.md, history.md and compare's PR comment they are text, never markup: no
`<img onerror>`, no `[x](javascript:...)` link, no backtick that ends a code span.
"""

from __future__ import annotations

import re

# Everything that starts or ends inline Markdown or HTML; each gets a backslash.
SPECIAL = re.compile(r"([\\`*_\[\]<>&|!~#])")


def md(text: object) -> str:
    """`text` as literal Markdown text (one line)."""
    return SPECIAL.sub(r"\\\1", " ".join(str(text).splitlines()))


def md_code(text: object) -> str:
    """`text` as a code span: a backtick inside would end the span, so it is shown as
    a look-alike (U+02CB); nothing is escaped inside a code span."""
    return "`" + " ".join(str(text).splitlines()).replace("`", "\u02cb") + "`"
