"""bench/present/markdown.py: text from run folders is inert in report.md, history.md
and compare's PR comment (issue 25, defect 12). Checked by rendering with a real
CommonMark renderer (markdown-it-py, which rich depends on)."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from bench.cli import main
from bench.present.markdown import md, md_code

FIXTURE = Path(__file__).resolve().parent.parent / "results" / "fixtures" / "mlp-tiny-a"
HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "[click](javascript:alert(1))",
    "![x](javascript:alert(1))",
    "<javascript:alert(1)>",
    "a`b``c",
    "`</code><img src=x onerror=alert(1)>",
    "**bold** _it_ ~~s~~",
    "| cell | break |",
    "&lt;img&gt; &#x3C;",
    "line one\n# heading\n<b>x</b>",
    "\\[escaped\\](javascript:x)",
]
RENDER = MarkdownIt("commonmark").enable("table")


ALLOWED_TAGS = {"p", "code", "table", "thead", "tbody", "tr", "th", "td", "h1", "h2", "h3",
                "blockquote", "ul", "li", "details", "summary", "sub", "strong", "em", "br",
                "hr", "img", "a"}  # fmt: skip


def _dangerous(rendered: str) -> list[str]:
    """Tags a page would act on: unknown elements, and any attribute but a table cell's
    alignment or our own charts' local image files."""
    bad = []
    for name, attrs in re.findall(r"<([a-zA-Z][\w-]*)([^>]*)>", rendered):
        local_img = name == "img" and re.fullmatch(r' src="[\w.-]+\.png" alt="[^"]*"\s*/?', attrs)
        local_img = local_img or name == "a" and re.fullmatch(r' href="[\w.-]+\.svg"', attrs)
        if name not in ALLOWED_TAGS or (
            attrs.strip() and not local_img and not re.fullmatch(r' style="text-align:\w+"', attrs)
        ):
            bad.append(f"<{name}{attrs}>")
    return bad


@pytest.mark.parametrize("text", HOSTILE)
def test_md_text_renders_as_the_same_text(text: str) -> None:
    rendered = RENDER.render(f"before {md(text)} after")
    assert _dangerous(rendered) == []
    shown = html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip()
    assert shown == f"before {' '.join(text.splitlines())} after"


@pytest.mark.parametrize("text", HOSTILE)
def test_md_code_stays_one_code_span(text: str) -> None:
    rendered = RENDER.render(f"x {md_code(text)} y")
    assert rendered.count("<code>") == 1 and _dangerous(rendered) == []


@pytest.mark.parametrize(
    "run_id", ["<img src=x onerror=alert(1)>", "[click](javascript:alert(1))", "a`b``c <b>"]
)
def test_report_compare_and_history_markdown_keep_a_hostile_run_id_inert(
    tmp_path: Path, run_id: str
) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    meta = json.loads((run / "meta.json").read_text())
    meta["run_id"] = run_id
    meta["machine"] = {**meta["machine"], "fingerprint": run_id}
    (run / "meta.json").write_text(json.dumps(meta))
    assert main(["report", str(run), "--out", str(tmp_path / "report")]) == 0
    main(["compare", str(FIXTURE), str(run), "--markdown", str(tmp_path / "pr.md")])
    assert main(["history", str(FIXTURE), str(run), "--out", str(tmp_path / "history")]) == 0
    for md_file in ("report/report.md", "pr.md", "history/history.md"):
        rendered = RENDER.render((tmp_path / md_file).read_text())
        assert _dangerous(rendered) == [], md_file
    page = (tmp_path / "report" / "report.html").read_text()
    assert "<img src=x" not in page and "javascript:" not in page.replace("javascript:alert", "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history", "pr.md", "report", "run"]
