"""Step 5, sweep: many runs planned, executed and recorded.

Holds the suites: what one is, the built-in ones (``.toml`` study files shipped in
``builtin_suites/``) and the registry (:mod:`.suites`), the study-file schema they and the
user's ``--suite-file`` (:mod:`.suite_file`) share (:mod:`.suite_schema`), the sources'
protocols and numbers (:mod:`.protocols`); planning and recording a sweep (:mod:`.sweep`);
where its runs execute: in this process or a child (:mod:`.executors`), on a Ray cluster
(:mod:`.ray_executor`), chosen by name (:mod:`.backends`); and ``--seeds auto``: its stopping
rule and rounds (:mod:`.adaptive`) on the statistics of :mod:`bench.stats`.

Imports: :mod:`bench.stats`, :mod:`bench.config`, :mod:`bench.data`, :mod:`bench.train`,
:mod:`bench.store`.
Face: the modules :mod:`.suites`, :mod:`.sweep` and :mod:`.adaptive`, :data:`EXECUTORS`,
:func:`make_executor`.
"""

from bench.sweep import adaptive, suites, sweep
from bench.sweep.backends import EXECUTORS, make_executor

__all__ = ["EXECUTORS", "adaptive", "make_executor", "suites", "sweep"]
