"""Regenerate the generated blocks of README.md from the code (run after changing the registry
or a built-in suite's file).

Each block sits between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers and holds the
output of a ``bench`` command; tests/test_readme.py fails when a block is stale.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"

BLOCKS = {
    "archs": ["list", "--format", "markdown"],
    "suites": ["suites", "--format", "markdown"],
}


def command_output(argv: list[str]) -> str:
    from bench.cli import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(argv)
    if code != 0:
        raise SystemExit(f"bench {' '.join(argv)} failed with exit code {code}")
    return buffer.getvalue().strip()


def render(text: str) -> str:
    for name, argv in BLOCKS.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no {name} block")
        text = pattern.sub(lambda m, argv=argv: m[1] + command_output(argv) + "\n" + m[2], text)
    return text


if __name__ == "__main__":
    new = render(README.read_text())
    if "--check" in sys.argv:
        sys.exit(0 if new == README.read_text() else 1)
    README.write_text(new)
