"""The report's sections, one module each: every module computes the numbers of its own tables
from the :class:`~bench.report.sections.context.Context` and renders them, drawing its figures
through the context, in a function ``section(ctx) -> str`` (markdown that starts with its
``##`` heading; empty when the section has nothing to show), or a
:class:`~bench.report.sections.context.Blocks` when it holds folded or preformatted blocks.
Every text from a store, a file or user code enters through the helpers of
:mod:`bench.report.markdown` (``text``, ``code``, the table helpers), which escape it.

Which sections a report has, and in what order, is the lists in :mod:`bench.report.document`:
adding a table or a figure touches its section's module and, for a new section, that list.
"""
