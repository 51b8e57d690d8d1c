"""The README, the project's front door, stays short and true: its recap block is the example
report's, its commands exist as written (the test command is CI's), its links lead to pages that
exist. Its own-model example runs in tests/test_readme_own_model.py."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from tests.test_docs import ParseError, check_command, commands

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
REPORT = ROOT / "docs" / "example-report" / "report.md"


def load_updater():
    spec = importlib.util.spec_from_file_location(
        "update_readme", ROOT / "scripts/update_readme.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def recap_block(text: str) -> str:
    return text.split("<!-- recap:start -->\n")[1].split("<!-- recap:end -->")[0]


def test_generated_blocks_are_current():
    text = README.read_text()
    assert load_updater().render(text) == text, "run: python scripts/update_readme.py"


def test_the_recap_block_follows_the_example_report(tmp_path):
    """A regenerated example report (other numbers, another verdict) makes the README stale."""
    text = README.read_text()
    report = REPORT.read_text()
    shown = re.search(r"\| strongcnn +\|.*?\| +(\d+\.\d+ ± \d+\.\d+ %) \|", report)[1]
    changed = report.replace(shown, "12.34 ± 0.18 %").replace(
        "| unresolved after 3 seeds |", "| strongcnn better         |", 1
    )
    assert changed != report
    (tmp_path / "report.md").write_text(changed)
    block = recap_block(load_updater().render(text, tmp_path / "report.md"))
    assert "12.34 ± 0.18 %" in block and block != recap_block(text)


def test_the_recap_block_quotes_the_report():
    """Every number and verdict of the block is in the example report, and the prose above it
    says what the verdicts say: every CNN beats mlp32, strongcnn is the most accurate, and two
    pairs are unresolved."""
    block, report = recap_block(README.read_text()), REPORT.read_text()
    for number in re.findall(r"\d[\d,]*\.\d+ ± \d+\.\d+ %|\[\d+\.\d+, \d+\.\d+\] %", block):
        assert number in report, number
    assert re.search(r"runs of 2026-\d\d-\d\d", block)
    date = re.search(r"runs of (\S+?)[.;]", block)[1]
    assert f"runs from {date}" in report
    for cnn in ("tinycnn", "cnn", "strongcnn"):
        assert f"{cnn} better than mlp32" in block
    rows = re.findall(r"^\| (\w+) \| [\d,]+ \| (\d+\.\d+) ±", block, flags=re.M)
    assert max(rows, key=lambda row: float(row[1]))[0] == "strongcnn"
    prose = README.read_text().split("<!-- recap:start -->")[0]
    assert "two of the steps" in prose and block.count("unresolved after") == 2


def test_ci_runs_exactly_the_readme_test_command():
    readme = README.read_text()
    ci = (ROOT / ".ci/run").read_text().strip().splitlines()[-1]
    assert ci in readme


def test_the_readme_is_a_front_door():
    """About 150 lines: what archbench is, the recap, the fresh-machine commands, an own-model
    example, the tests and links; everything else lives in docs/."""
    lines = README.read_text().splitlines()
    assert len(lines) <= 180
    headings = [line for line in lines if line.startswith("## ")]
    assert headings == [
        "## The recap, honestly",
        "## On a fresh machine",
        "## Your own model",
        "## Tests",
        "## Documentation",
    ]


def test_every_command_in_the_readme_exists_as_written():
    """The fresh-machine commands, the own-model commands and the test commands: ``bench``
    through the real parser, scripts and modules for existence."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    found = [command for block in blocks for command in commands(block)]
    assert ["bash", "scripts/bootstrap.sh"] in found
    assert [".venv/bin/bench", "run", "--suite", "mlp-vs-cnn"] in found
    assert [".venv/bin/python", "-m", "pytest"] in found
    for command in found:
        try:
            check_command(command)
        except ParseError as exc:
            pytest.fail(f"README: `{' '.join(command)}`: {exc}")


def test_every_link_in_the_readme_leads_to_a_page_that_exists():
    links = re.findall(r"\]\(([^)]+)\)", README.read_text())
    local = [link for link in links if "://" not in link]
    assert len(local) >= 15
    for link in local:
        path = link.split("#")[0]
        assert (ROOT / path).is_file(), f"README links to {link}, which does not exist"
    docs = {link.split("#")[0] for link in local if link.startswith("docs/")}
    for page in ("tutorials/recap.md", "tutorials/own-model.md", "reference/cli.md"):
        assert f"docs/{page}" in docs
