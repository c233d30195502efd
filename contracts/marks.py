"""The bench mark line: how `bench.end` reports a region where it cannot call the
harness (docs/programs.md). Shared by the bench modules' build (workloads/guests) and
the hosts that read the lines (hosts/programs.py).

    wasinn-bench region <token> <start ns> <end ns>

`<token>` is a secret of the harness (TOKEN_CHARS characters): the prebuilt preload and
adapter carry PLACEHOLDER, which the harness replaces per run (preload) or per adapted
program (adapter). A program can print any line on stderr, but not one with a token
it never saw, so a line without the token is never a timing.
"""

from __future__ import annotations

import secrets

PREFIX = "wasinn-bench region "
TOKEN_CHARS = 32
PLACEHOLDER = "wasinn-bench-token-placeholder!!"
assert len(PLACEHOLDER) == TOKEN_CHARS


def new_token() -> str:
    """A fresh secret: TOKEN_CHARS hex digits."""
    return secrets.token_hex(TOKEN_CHARS // 2)
