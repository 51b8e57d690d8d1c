"""`bench report --format html`: one self-contained page with every table and figure of the
markdown report, rendered in a real headless browser where Debian's chromium is installed."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess

import pytest

from bench.cli import main
from tests.report.rendering import undrawn_figures  # noqa: F401  (fixture)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def results(grid_store):
    """A small lr x batch size grid on synthetic data (a study), both report formats: a copy
    of the session's ``grid_results`` (tests/conftest.py)."""
    return grid_store


@pytest.mark.slow
def test_html_holds_every_table_and_every_figure_embedded(results):
    markdown = (results / "report.md").read_text()
    page = (results / "report.html").read_text()
    tables = len(re.findall(r"^\|[-:| ]+\|$", markdown, flags=re.M))  # one rule line per table
    assert tables >= 4 and page.count('<table class="sortable">') == tables
    figures = sorted(p.name for p in (results / "report_figures").glob("*.png"))
    assert "study_heatmap.png" in figures and "study_sensitivity.png" in figures
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([^"]+)"', page)
    assert sorted(alt for alt, _ in images) == figures
    for alt, data in images:
        png = base64.b64decode(data)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert png == (results / "report_figures" / alt).read_bytes()
    assert "report_figures/" not in page  # nothing outside the file is referenced
    assert "<h2>Study: how accuracy depends on" in page and "<details>" in page


@pytest.mark.usefixtures("undrawn_figures")  # what is read: the folder's files
def test_html_format_leaves_no_figures_folder_of_its_own(results, tmp_path):
    out = tmp_path / "page.html"
    args = ["report", "--results", str(results), "--quiet", "--format", "html", "--out", str(out)]
    assert main(args) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]


@pytest.mark.slow  # starts a browser
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed (apt-get install chromium)")
def test_html_renders_in_headless_chromium_without_console_errors(results, tmp_path):
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
            (results / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    dom = proc.stdout
    tables = dom.count("<table ")
    assert tables >= 4 and dom.count('data-sortable="ready"') == tables  # the script ran
    assert dom.count('src="data:image/png;base64,') == len(
        list((results / "report_figures").glob("*.png"))
    )
