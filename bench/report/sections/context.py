"""What every section reads (:class:`Context`, built by
:func:`bench.report.document.write_report`); :class:`Blocks`, a section written as blocks
(markdown, :class:`~bench.report.markdown.Code`, :class:`~bench.report.markdown.Fold`) rather
than one markdown text; and :func:`folded`, which shows a section's body folded under its
heading."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from bench.report import markdown
from bench.report.markdown import Block, Fold
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
    selection: str = ""  # the filter the runs were chosen by (--dataset, --where: options)
    datasets: tuple[str, ...] = ()  # the datasets of the whole report (a question: its own)
    prefix: str = ""  # put before each figure's file name (a question's dataset)
    include_contended: bool = False  # bench report --include-contended: the recap has them
    rotated_test: str = "auto"  # bench report --rotated-test (bench.report.rotations.angles)

    def save(self, name: str, draw: Callable[[Path], Path]) -> str:
        """Draw one figure into the figures folder; returns its markdown image link. The
        file name keeps letters, digits, ``.``, ``_`` and ``-`` only (another figure's name
        gets a number), so no name from a store reaches a path or the markdown as it is."""
        name = markdown.file_name(self.prefix + name)
        stem, dot, suffix = name.rpartition(".")
        for i in range(2, len(self.written) + 3):
            if name not in self.written:
                break
            name = f"{stem}-{i}{dot}{suffix}" if dot else f"{name}-{i}"
        draw(self.figures / name)
        self.written.append(name)
        return markdown.figure(self.link, name)


Section = Callable[[Context], str]  # a section's markdown from the context ("" to leave it out)


@dataclasses.dataclass(frozen=True)
class Blocks:
    """A section written as blocks: ``build(ctx)`` gives its markdown texts, preformatted
    :class:`~bench.report.markdown.Code` and folded :class:`~bench.report.markdown.Fold`
    blocks (an empty list to leave it out). Called, it is a :data:`Section` like any other
    (the blocks' markdown); the HTML page renders its blocks (:meth:`blocks`) as they are."""

    build: Callable[[Context], list[Block]]

    def blocks(self, ctx: Context) -> list[Block]:
        return [block for block in self.build(ctx) if block]

    def __call__(self, ctx: Context) -> str:
        blocks = self.blocks(ctx)
        return markdown.document(blocks).strip() if blocks else ""


def folded(heading: str, body: Section, summary: Callable[[Context], str]) -> Blocks:
    """The section ``heading`` with ``body`` folded into ``<details>`` (the summary line, inline
    markdown, says what is inside): for a section that a layout shows, but not as its
    headline."""
    return Blocks(lambda ctx: [heading, Fold(summary(ctx), (body(ctx),))])


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
