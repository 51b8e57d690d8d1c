"""Step 5, sweep: many runs planned, executed and recorded.

Holds the named comparisons (:mod:`.suites`) and studies in TOML files (:mod:`.suite_file`),
planning and recording a sweep (:mod:`.sweep`), where its runs execute: in this process or a
child (:mod:`.executors`), on a Ray cluster (:mod:`.ray_executor`), chosen by name
(:mod:`.backends`), and ``--seeds auto``: its stopping rule and rounds (:mod:`.adaptive`) on
the statistics over seeds that the report shares (:mod:`.seedstats`).

Imports: :mod:`bench.config`, :mod:`bench.data`, :mod:`bench.train`, :mod:`bench.store`.
Face: the modules :mod:`.suites`, :mod:`.sweep`, :mod:`.adaptive` and :mod:`.seedstats`,
:data:`EXECUTORS`, :func:`make_executor`.
"""

from bench.sweep import adaptive, seedstats, suites, sweep
from bench.sweep.backends import EXECUTORS, make_executor

__all__ = ["EXECUTORS", "adaptive", "make_executor", "seedstats", "suites", "sweep"]
