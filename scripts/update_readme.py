"""Regenerate the generated block of README.md (run after regenerating the example report with
``nox -s example-report``).

The block sits between ``<!-- recap:start -->`` and ``<!-- recap:end -->`` and holds the example
report in brief (``docs/example-report/report.md``: its recap table, verdicts and dates), as
``scripts/docs_hooks.py`` renders it for the site's home page too; tests/test_readme.py fails
while it is stale. The registries' tables live in the documentation site, generated while it
builds.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def load_hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "scripts/docs_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BLOCKS = {"recap": lambda report: load_hooks().example_recap(report)}


def render(text: str, report: Path | None = None) -> str:
    """``text`` (the README) with each generated block rewritten from ``report`` (default: the
    example report)."""
    report = report or ROOT / "docs" / "example-report" / "report.md"
    for name, generate in BLOCKS.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no {name} block")
        block = generate(report).strip()
        text = pattern.sub(lambda m, block=block: m[1] + block + "\n" + m[2], text)
    return text


if __name__ == "__main__":
    new = render(README.read_text())
    if "--check" in sys.argv:
        sys.exit(0 if new == README.read_text() else 1)
    README.write_text(new)
