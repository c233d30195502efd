"""bench/cli/args.py: every number on the command line is finite (issue 25, defect 9:
`--timeout nan` switched the timeout off, since every comparison with nan is false)."""

from __future__ import annotations

import pytest

from bench.cli import main

NOT_FINITE = ["nan", "NaN", "inf", "-inf", "infinity", "1e999", "9" * 400]


@pytest.mark.parametrize("value", NOT_FINITE)
@pytest.mark.parametrize(
    "flag",
    [
        ("run", "--timeout"),
        ("run", "--target-ci"),
        ("run", "--max-time"),
        ("compare", "--factor"),
        ("publish", "--factor"),
    ],  # fmt: skip
)
def test_a_number_that_is_not_finite_is_a_usage_error(
    flag: tuple[str, str], value: str, capsys: pytest.CaptureFixture
) -> None:
    command, option = flag
    positional = {"run": ["mlp-tiny"], "compare": ["a", "b"], "publish": ["a", "--out", "s"]}
    with pytest.raises(SystemExit) as e:
        main([command, *positional[command], f"{option}={value}"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert option in err and "Traceback" not in err
