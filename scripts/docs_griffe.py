"""A Griffe extension for the documentation site's Python API pages (mkdocs.yml, mkdocstrings'
``extensions``): archbench's docstrings are written for Sphinx-style readers, so before
mkdocstrings renders them as markdown

- a cross-reference role (``:class:`~bench.sweep.Study```, ``:func:`run```, ``:mod:`...```)
  becomes an inline code span of the name (the last part of the path when it starts with ``~``);
- a doctest (from a line starting with ``>>>`` to the next blank line; markdown would read the
  prompts as nested quotes) becomes a fenced ``pycon`` code block, its ``# doctest:``
  directives dropped.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj|py:\w+):`(~?)([^`]+)`")
DIRECTIVE = re.compile(r"\s*# doctest:.*$")


def plain_roles(text: str) -> str:
    def name(match: re.Match) -> str:
        target = match[2]
        return f"`{target.rsplit('.', 1)[-1] if match[1] else target}`"

    return ROLE.sub(name, text)


def fenced_doctests(text: str) -> str:
    lines, out, block = text.splitlines(), [], []
    for line in [*lines, ""]:
        stripped = line.strip()
        if stripped.startswith(">>>") or (block and stripped):  # a prompt, or what follows it
            block.append(DIRECTIVE.sub("", stripped))
            continue
        if block:
            out += ["", "```pycon", *block, "```", ""]
            block = []
        out.append(line)
    return "\n".join(out[:-1])


def rewrite(text: str) -> str:
    return fenced_doctests(plain_roles(text))


class SphinxRoles(griffe.Extension):
    """Rewrite every loaded object's docstring as described in the module docstring."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
