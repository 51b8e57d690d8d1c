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
:data:`FORMATS`, :mod:`.compare`.
"""

from bench.report import compare
from bench.report.document import write_report
from bench.report.numbers import recap
from bench.report.speed import speed_tables
from bench.report.tables import FORMATS, render

__all__ = ["FORMATS", "compare", "recap", "render", "speed_tables", "write_report"]
