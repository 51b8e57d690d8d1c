"""A store whose every text a user controls is hostile: an architecture name from a plugin, the
``--arch-arg`` values of a user model, a study file's name, description, protocol and
references, ``--label``, a dataset file's name, an npz's class names and the message of a failed
run all hold ``<script>``, an ``onerror`` image, ``|``, backticks, ``**x**``, ``![pic](x.png)``,
``javascript:`` and ``" onerror=``. The reports (markdown and HTML, the whole store and the
study) show every one of them as text: no markup of theirs, no shifted table cell, no crash."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from markdown_it import MarkdownIt

from bench.cli import main
from bench.report import html
from tests.report.rendering import figures_not_drawn
from tests.usercode_helpers import registries_restored, write, write_npz

pytestmark = pytest.mark.slow  # the hostile store: trained and reported once per module

PAYLOAD = (
    "<script>alert(1)</script><img src=x onerror=document.body.dataset.pwned=1> a|b `t` **x** "
    '![pic](x.png) javascript:alert(1) " onerror=alert(1)'
)
# an architecture name: no wildcard (*?[), no ":" (a name with one is a FILE:NAME reference)
ARCH = 'x<script>alert(1)</script>|`t` " onerror=alert(1)'
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

PLUGIN = f"""
from torch import nn
from architectures import register

def hostile(num_classes=10):
    return nn.Sequential(nn.Flatten(), nn.Linear(784, num_classes))

hostile.__name__ = {ARCH!r}
register(family="mine", description={PAYLOAD!r}, source={PAYLOAD!r})(hostile)
globals()[{ARCH!r}] = hostile
"""
MODELS = f"""
from torch import nn

class Tagged(nn.Module):
    def __init__(self, num_classes=10, tag=""):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, num_classes))

    def forward(self, x):
        return self.net(x)

class Boom(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, num_classes))

    def forward(self, x):
        if self.training:
            raise RuntimeError({PAYLOAD!r})
        return self.net(x)
"""


def study_file(npz: Path) -> str:
    q = json.dumps
    return f"""
name = {q("study " + PAYLOAD)}
description = {q(PAYLOAD)}
source = {q(PAYLOAD)}
archs = [{q(ARCH)}, "mlp32"]
dataset = {q(str(npz))}
recipe = "adam-bs64-e5"
seeds = "0-1"
[overrides]
epochs = 1
[protocol]
train_images = 240
selection = {q(PAYLOAD)}
reason = {q(PAYLOAD)}
difference = {q(PAYLOAD)}
[[references]]
model = {q(ARCH)}
metric = "test_acc"
value = 0.5
source = {q(PAYLOAD)}
"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The store (a study of the plugin's model and mlp32, a user model with a hostile
    ``--arch-arg``, a failed run), its reports in both formats (the whole store, and the study
    with ``--suite-file``; their exit statuses in ``codes.json``; the whole store's markdown
    report draws its figures, the others write placeholders of the same figures:
    tests/report/rendering.py) and
    ``bench results --format markdown``."""
    root = tmp_path_factory.mktemp("hostile")
    results = root / "results"
    with registries_restored(), contextlib.redirect_stdout(io.StringIO()) as out:
        plugin = write(root / "plugin.py", PLUGIN)
        models = write(root / "models.py", MODELS)
        npz = root / ("d" + PAYLOAD.replace("/", "") + ".npz")  # a file name holds no "/"
        write_npz(npz, classes=4)
        arrays = dict(np.load(npz))
        np.savez(npz, **arrays, classes=np.array([f"{PAYLOAD}{i}" for i in range(4)]))
        study = write(root / "study.toml", study_file(npz))
        common = ["--device", "cpu", "--threads", "1", "--quiet", "--results", str(results)]
        common += ["--label", PAYLOAD]
        imports = ["--import", str(plugin)]
        assert main(["run", *imports, "--suite-file", str(study), *common]) == 0
        tagged = ["--arch", f"{models}:Tagged", "--arch-arg", f"tag={PAYLOAD}"]
        data = ["--dataset", str(npz), "--epochs", "1"]
        assert main(["run", *tagged, *data, "--seeds", "0-1", *common]) == 0
        assert main(["run", "--arch", f"{models}:Boom", *data, "--seeds", "0", *common]) == 1
        where = ["--results", str(results), "--quiet", *imports]
        codes = {}
        for fmt in ("md", "html"):
            # the whole store's markdown report draws every figure, hostile names and class
            # names and all; the other reports (the same figures, or the study's among them)
            # write placeholders of them: their markup and text are what is read
            with figures_not_drawn() if fmt == "html" else contextlib.nullcontext():
                codes[f"report.{fmt}"] = main(["report", *where, "--format", fmt])
            suite = ["--suite-file", str(study), "--out", str(root / f"study.{fmt}")]
            with figures_not_drawn():
                codes[f"study.{fmt}"] = main(["report", *where, *suite, "--format", fmt])
        (root / "codes.json").write_text(json.dumps(codes))
        out.truncate(0)
        assert main(["results", "--results", str(results), "--format", "markdown"]) == 0
        (root / "results.md").write_text(out.getvalue())
    return root


def test_every_report_is_written(reports):
    """No crash: a study description with ``![pic](x.png)`` is text, not a figure to read."""
    codes = json.loads((reports / "codes.json").read_text())
    assert codes == {"report.md": 0, "report.html": 0, "study.md": 0, "study.html": 0}


def markdown_files(root: Path) -> list[Path]:
    return [root / "results" / "report.md", root / "study.md", root / "results.md"]


def html_files(root: Path) -> list[Path]:
    return [root / "results" / "report.html", root / "study.html"]


class Page(HTMLParser):
    """Every tag with its attributes, the scripts' text, the text shown, and the tables."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.shown: list[str] = []
        self.tables: list[list[list[str]]] = []
        self._in: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables:
            self.tables[-1][-1].append("")

    def handle_endtag(self, tag):
        while self._in and self._in.pop() != tag:
            pass

    def handle_data(self, data):
        if self._in and self._in[-1] == "script":
            self.scripts.append(data)
            return
        self.shown.append(data)
        if self.tables and ("td" in self._in or "th" in self._in):
            self.tables[-1][-1][-1] += data

    @property
    def text(self) -> str:
        return "".join(self.shown)


def assert_no_markup_from_the_store(page: Page, own_scripts: int, image: re.Pattern[str]) -> None:
    """No script but the report's own, no event handler, no javascript: URL, no link, and
    images only of the report's own figures (``image`` matches their src)."""
    tags = [tag for tag, _ in page.tags]
    assert tags.count("script") == own_scripts and "a" not in tags and "iframe" not in tags
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            assert "javascript:" not in (value or "").lower(), (tag, name, value)
        if tag == "img":
            assert image.fullmatch(attrs.get("src") or ""), attrs.get("src", "")[:80]
    assert PAYLOAD in page.text  # shown, as text


def test_the_html_reports_hold_no_markup_from_the_store(reports):
    for path in html_files(reports):
        page = Page(path.read_text())
        assert page.scripts == [html.SCRIPT]
        assert_no_markup_from_the_store(
            page, 1, re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")
        )
        images = [attrs for tag, attrs in page.tags if tag == "img"]
        figures = sorted(p.name for p in path.parent.glob("*_figures/*.png"))
        assert images and len(images) == len(figures) == len(set(figures))
        assert sorted(attrs["alt"] for attrs in images) == figures
        assert "pic" not in {attrs["alt"] for attrs in images}
        assert "<details>" in path.read_text() and "<strong>" in path.read_text()


def test_the_markdown_reports_hold_no_payload_raw(reports):
    for path in markdown_files(reports):
        text = path.read_text()
        for raw in ("<script", "<img", "**x**", "![pic](", "a|b", "`t`", "<a "):
            assert raw not in text, (path.name, raw)


def test_the_markdown_rendered_with_raw_html_on_shows_the_payload_as_text(reports):
    """As GitHub reads report.md (raw HTML on, before its own sanitizer): the report's
    ``<details>`` and ``<pre>`` are its only HTML; every payload is text."""
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    for path in markdown_files(reports)[:2]:
        page = Page(md.render(path.read_text()))
        figures = re.escape(path.stem) + r"_figures/[A-Za-z0-9._-]+\.png"
        assert_no_markup_from_the_store(page, 0, re.compile(figures))
        allowed = {"details", "summary", "pre", "code", "strong", "em", "img"}
        allowed |= {"p", "h1", "h2", "h3", "ul", "ol", "li", "hr"}
        allowed |= {"table", "thead", "tbody", "tr", "th", "td"}
        assert {tag for tag, _ in page.tags} <= allowed


def cells(line: str) -> list[str]:
    """A GitHub table row's cells: split at each ``|`` not escaped by a backslash."""
    inner = line.strip()[1:-1] if line.strip().endswith("|") else line.strip()[1:]
    return re.split(r"(?<!\\)(?:\\\\)*\|", inner) if inner else []


def test_a_pipe_in_a_name_shifts_no_cell(reports):
    for path in markdown_files(reports):
        tables: list[list[str]] = [[]]
        for line in path.read_text().splitlines():
            if line.startswith("|"):
                tables[-1].append(line)
            elif tables[-1]:
                tables.append([])
        tables = [table for table in tables if table]
        assert tables
        for table in tables:
            assert {len(cells(row)) for row in table} == {len(cells(table[0]))}, table[0]
    recap = next(
        table
        for table in Page((reports / "results" / "report.html").read_text()).tables
        if table[0][:1] == ["Model"]
    )
    header = recap[0]
    rows = {row[0]: dict(zip(header, row, strict=True)) for row in recap[1:]}
    for model in (ARCH, 'Tagged{"tag":' + json.dumps(PAYLOAD) + "}"):
        assert rows[model]["n"] == "2"
        assert rows[model]["Test accuracy"].endswith(" %")


@pytest.mark.slow  # starts a browser
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed (apt-get install chromium)")
def test_the_hostile_html_runs_no_script_of_the_store_in_headless_chromium(reports, tmp_path):
    for path in html_files(reports):
        proc = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--enable-logging=stderr",
                "--v=0",
                "--dump-dom",
                path.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
        assert console == []
        assert "alert" not in proc.stderr.lower() and "data-pwned" not in proc.stdout
        tables = proc.stdout.count("<table ")
        assert tables >= 3 and proc.stdout.count('data-sortable="ready"') == tables
        assert PAYLOAD.split(">", 1)[0] in Page(proc.stdout).text  # "<script" shown as text
