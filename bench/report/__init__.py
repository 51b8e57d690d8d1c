"""Step 6, report: numbers, tables, figures and the markdown report from a results store.

Holds model variants (:mod:`.variants`), checkpoint evaluations
(:mod:`.evaluation`), the report's numbers (:mod:`.numbers`; over seeds: :mod:`.seeds`),
figures (:mod:`.figures`), the report's sections, one module each computing and rendering its
own tables (:mod:`.sections`), the markdown helpers through which every text from a store,
a file or user code enters the report, escaped (:mod:`.markdown`), the HTML page
(:mod:`.html`), and their order and the assembly (:mod:`.document`),
``bench compare`` (:mod:`.compare`), ``bench plan`` (:mod:`.plan`), ``bench speed``
(:mod:`.speed`) and terminal tables (:mod:`.tables`).

Imports: every earlier step.
Face: :func:`recap`, :func:`write_report`, :func:`speed_tables`, :func:`render`,
:func:`text_table`, :func:`text_blocks`, :func:`terminal_text`, :data:`FORMATS`,
:mod:`.compare`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.config.faces import lazy_names
from bench.report.tables import FORMATS, render, terminal_text, text_blocks, text_table

if TYPE_CHECKING:
    from bench.report import compare
    from bench.report.document import write_report
    from bench.report.numbers import recap
    from bench.report.speed import speed_tables

# The rest of the face is imported when first used: the report's figures import matplotlib
# and its statistics scipy, which `bench --help`, `bench list` or `bench results` never need.
_LAZY = {
    "compare": ("bench.report.compare", None),
    "write_report": ("bench.report.document", "write_report"),
    "recap": ("bench.report.numbers", "recap"),
    "speed_tables": ("bench.report.speed", "speed_tables"),
}

__getattr__ = lazy_names(__name__, _LAZY)

__all__ = [
    "FORMATS",
    "compare",
    "recap",
    "render",
    "speed_tables",
    "terminal_text",
    "text_blocks",
    "text_table",
    "write_report",
]
