"""bench/analyze/meta_check.py: meta.json read from a run folder is untrusted; a field
of the wrong type or a run_id that is a path is one line naming the file and the field,
exit 2, for every reader (issue 25, defects 2 and 14)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench.analyze.runs import load_run
from bench.cli import main
from bench.results.store import RunFolderError

FIXTURE = Path(__file__).resolve().parent.parent / "results" / "fixtures" / "mlp-tiny-a"

BAD_FIELDS = {
    "run_id": [5, None, ["a"], "../x", "/etc", "..", "a\\b", "x" * 500, "a\x00"],
    "created": [5, {"a": 1}],
    "git_sha": [123, ["x"]],
    "interrupted": ["yes", 1],
    "shard": ["1/2/3", "../1", 3],
    "machine": ["box", [1]],
    "packages": ["x", {"wasmtime": 49}],
    "runtimes": [[1], {"wasmtime-cli": ["49"]}],
    "config": ["x", {"target_ci": "5"}, {"target_ci": {"pct": "5"}}],
    "workloads": [[1], {"w": 5}, {"w": {"rounds": "3"}}, {"w": {"io_bytes": -1}}],
    "schema_version": ["3", 3.5, True],
}
CASES = [(f, v) for f, values in BAD_FIELDS.items() for v in values]


@pytest.mark.parametrize(("field", "value"), CASES, ids=[f"{f}={v!r}"[:40] for f, v in CASES])
def test_a_bad_meta_field_is_refused_naming_it(tmp_path: Path, field: str, value: object) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    meta = json.loads((run / "meta.json").read_text())
    (run / "meta.json").write_text(json.dumps(meta | {field: value}))
    with pytest.raises(RunFolderError, match=rf"meta.json: field '{field}"):
        load_run(run)


@pytest.mark.parametrize("command", ["report", "compare", "export", "history"])
def test_every_reader_exits_2_on_a_bad_meta(
    tmp_path: Path, capsys: pytest.CaptureFixture, command: str
) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    meta = json.loads((run / "meta.json").read_text())
    (run / "meta.json").write_text(json.dumps(meta | {"workloads": {"w": {"rounds": [1]}}}))
    args = {
        "report": [str(run), "--out", str(tmp_path / "r")],
        "compare": [str(FIXTURE), str(run)],
        "export": [str(run), "--format", "sightglass", "-o", str(tmp_path / "e.csv")],
        "history": [str(run), "--out", str(tmp_path / "h")],
    }[command]
    assert main([command, *args]) == 2
    err = capsys.readouterr().err
    assert "field 'workloads.w.rounds'" in err and "Traceback" not in err


def test_meta_that_is_not_utf8_is_a_run_folder_error(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    (run / "meta.json").write_bytes(b'{"run_id": "\xff"}')
    with pytest.raises(RunFolderError, match="meta.json"):
        load_run(run)
