"""What every section reads (:class:`Context`, built by
:func:`bench.report.document.write_report`), and :func:`folded`, which shows a section's body
folded under its heading."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from bench.store import Tables


@dataclasses.dataclass
class Context:
    tables: Tables
    runs: pd.DataFrame  # ok runs with variant/model columns
    evaluations: pd.DataFrame
    recap: pd.DataFrame
    figures: Path  # where figures are written now (a temporary folder)
    link: str  # the folder name the markdown links to
    data_root: Path | None
    written: list[str] = dataclasses.field(default_factory=list)
    study: Any = None  # a bench.report.study.Grid when the runs form a grid, else None
    references: pd.DataFrame | None = None  # bench report --reference, and the suite's
    suite: str | None = None  # the suite reported (bench report --suite), None for every run
    command: str | None = None  # the command line that writes this report
    # run id -> why its checkpoint evaluations could not be redone here (a changed or missing
    # dataset file, code that cannot be rebuilt, a missing checkpoint)
    not_redone: dict[str, str] = dataclasses.field(default_factory=dict)

    def save(self, name: str, draw: Callable[[Path], Path]) -> str:
        """Draw one figure into the figures folder; returns its markdown image link."""
        draw(self.figures / name)
        self.written.append(name)
        return f"![{name}]({self.link}/{name})"


Section = Callable[[Context], str]  # a section's markdown from the context ("" to leave it out)


def folded(heading: str, body: Section, summary: Callable[[Context], str]) -> Section:
    """The section ``heading`` with ``body`` folded into ``<details>`` (the summary line says
    what is inside): for a section that a layout shows, but not as its headline."""

    def section(ctx: Context) -> str:
        return (
            f"{heading}\n\n<details><summary>{summary(ctx)}</summary>\n\n{body(ctx)}\n\n</details>"
        )

    return section


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
