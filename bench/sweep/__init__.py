"""Step 5, sweep: many runs planned, executed and recorded.

Holds the named comparisons (:mod:`.suites`) and studies in TOML files (:mod:`.suite_file`),
planning and recording a sweep (:mod:`.sweep`), and where its runs execute: in this process or
a child (:mod:`.executors`), on a Ray cluster (:mod:`.ray_executor`), chosen by name
(:mod:`.backends`).

Imports: :mod:`bench.config`, :mod:`bench.data`, :mod:`bench.train`, :mod:`bench.store`.
Face: the modules :mod:`.suites` and :mod:`.sweep`, :data:`EXECUTORS`, :func:`make_executor`.
"""

from bench.sweep import suites, sweep
from bench.sweep.backends import EXECUTORS, make_executor

__all__ = ["EXECUTORS", "make_executor", "suites", "sweep"]
