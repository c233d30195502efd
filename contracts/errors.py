"""The one base class of the errors a user can fix.

The command line turns every `UserError` into one line on stderr and exit
code 2; each subclass's message names the file, the field or the cell.
"""

from __future__ import annotations


class UserError(ValueError):
    """Bad input (a workload, a run folder, a module to adapt, ...): exit 2."""
