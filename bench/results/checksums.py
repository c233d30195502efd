"""checksums.json: the sha256 of every result file, checked by every reader.

Run folders travel (CI artifacts, a colleague's disk); one flipped bit in
samples.parquet turned 16,629 ns into 1.15e18 ns, and an edited summary.csv was shown
as it was. Each folder of a run (the run folder, parts/, outputs/) holds a
checksums.json, `{file name: [sha256, ...]}`, written with each file:

1. the new digest is added next to the old one (both are accepted while the file is
   swapped, so a kill at any point leaves a file that matches);
2. the file is renamed into place;
3. the old digest is dropped.

A reader calls `verify(path)`: a listed file whose bytes match none of its digests is a
RunFolderError naming the file. A file not listed (a run from before checksums, a
fixture) is read as it is. This finds corruption and edits, not forgery: whoever can
write the folder can write checksums.json too.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from contracts.errors import UserError

FILE = "checksums.json"


class ChecksumError(UserError):
    """A result file whose bytes are not the ones its run wrote (exit 2)."""


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def read_sums(folder: Path) -> dict[str, list[str]]:
    path = folder / FILE
    try:
        sums = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise ChecksumError(f"{path}: unreadable ({e}); the folder's files cannot be checked")
    ok = isinstance(sums, dict) and all(
        isinstance(v, list) and all(isinstance(d, str) for d in v) for v in sums.values()
    )
    if not ok:
        raise ChecksumError(f"{path}: not a checksums file ({{name: [sha256, ...]}})")
    return sums


def _write_sums(folder: Path, sums: dict[str, list[str]]) -> None:
    tmp = folder / f".{FILE}.tmp"
    with open(tmp, "w") as f:
        json.dump(sums, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / FILE)


def replace_sealed(tmp: Path, path: Path) -> None:
    """os.replace(tmp, path), with path's digest recorded in checksums.json."""
    new = digest(tmp)
    sums = read_sums(path.parent)
    sums[path.name] = [*sums.get(path.name, [])[-1:], new]
    _write_sums(path.parent, sums)
    os.replace(tmp, path)
    sums[path.name] = [new]
    _write_sums(path.parent, sums)


def verify(path: Path) -> None:
    """Raise ChecksumError naming `path` when its bytes match none of its digests."""
    listed = read_sums(path.parent).get(path.name)
    if listed is None or not path.exists():
        return
    actual = digest(path)
    if actual not in listed:
        raise ChecksumError(
            f"{path}: checksum mismatch: the file changed after its run wrote it (sha256 "
            f"{actual[:12]}…, {FILE} says {listed[-1][:12]}…): corrupt or edited; "
            "restore it from the source of the run folder"
        )
