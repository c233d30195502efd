"""contracts/logtail.py: a failure's reason keeps the line that explains it."""

from __future__ import annotations

from pathlib import Path

from contracts.logtail import telling_file


def test_a_reason_keeps_the_line_that_explains_the_failure(tmp_path: Path) -> None:
    usage = (
        "driver: bad output MAXBYTES: 4800000000\n"
        "usage: driver --encoding ENC --target TGT [--load bytes|name] [--name NAME]\n"
        + "  more usage\n"
        * 6
    )
    (tmp_path / "stderr").write_text(usage)
    assert "driver: bad output MAXBYTES: 4800000000" in telling_file(
        tmp_path / "stderr", "driver", 3
    )
    traceback = "Traceback (most recent call last):\n" + '  File "x.py"\n' * 20
    (tmp_path / "worker.stderr").write_text(traceback + "ValueError: the cause\n  a note\n")
    assert "ValueError: the cause" in telling_file(tmp_path / "worker.stderr")
