"""Step 5, sweep: many runs planned, executed and recorded.

Holds a study, everything ``bench run`` can be asked, and the one function that runs it
(:mod:`.study`, its values checked in :mod:`.study_values`); the suites: what one is, the
built-in ones (``.toml`` study files shipped in ``builtin_suites/``) and the registry
(:mod:`.suites`), the study-file schema they and the user's ``--suite-file``
(:mod:`.suite_file`) share (:mod:`.suite_schema`), the sources' protocols and numbers
(:mod:`.protocols`); planning and recording a sweep (:mod:`.sweep`); where its runs execute:
in this process or a child (:mod:`.executors`), on a Ray cluster (:mod:`.ray_executor`),
chosen by name (:mod:`.backends`); and ``--seeds auto``: its stopping rule and rounds
(:mod:`.adaptive`) on the statistics of :mod:`bench.stats`.

Imports: :mod:`bench.stats`, :mod:`bench.config`, :mod:`bench.data`, :mod:`bench.train`,
:mod:`bench.store`.
Face: :class:`Study`, :func:`run_study`, :class:`StudyOutcome`, the modules :mod:`.suites`,
:mod:`.sweep` and :mod:`.adaptive`, :data:`EXECUTORS`, :func:`make_executor`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.config.faces import lazy_names
from bench.sweep.backends import EXECUTORS, make_executor

if TYPE_CHECKING:
    from bench.sweep import adaptive, suites, sweep
    from bench.sweep.study import Study, StudyOutcome, run_study

# The rest of the face is imported when first used: planning and training import torch, which
# the command line's parser (the executors' and the study's names) never needs.
_LAZY = {
    "adaptive": ("bench.sweep.adaptive", None),
    "suites": ("bench.sweep.suites", None),
    "sweep": ("bench.sweep.sweep", None),
    "Study": ("bench.sweep.study", "Study"),
    "StudyOutcome": ("bench.sweep.study", "StudyOutcome"),
    "run_study": ("bench.sweep.study", "run_study"),
}

__getattr__ = lazy_names(__name__, _LAZY)

__all__ = [
    "EXECUTORS",
    "Study",
    "StudyOutcome",
    "adaptive",
    "make_executor",
    "run_study",
    "suites",
    "sweep",
]
