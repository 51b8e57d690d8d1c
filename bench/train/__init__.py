"""Step 3, train: one run, start to finish, on one device.

Holds the fast training loop (:mod:`.loop`), the plain DataLoader loop kept as a reference
(:mod:`.reference`), several seeds trained together (:mod:`.seedpar`), a run from config to
result (:mod:`.runner`), the LR range test (:mod:`.lr_range`) and torchinfo facts
(:mod:`.modelinfo`). Progress goes out as events (:mod:`bench.config.events`) to the ``emit``
callable a caller passes; nothing here prints.

Imports: :mod:`bench.config`, :mod:`bench.data`.
Face: :class:`RunResult`, :func:`execute`, :func:`execute_task`, :func:`group_tasks`,
:func:`model_facts`, :mod:`.lr_range`, :mod:`.slot` (the machine-wide training slot),
:mod:`.timing` (the conditions of a run's timing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.config.faces import lazy_names
from bench.train.result import DEFAULT_TARGETS, DONE_STATUSES, RunResult, now, one_line

if TYPE_CHECKING:
    from bench.train import lr_range, slot, timing
    from bench.train.modelinfo import canonical_kwargs, model_facts
    from bench.train.runner import execute, execute_task, group_tasks, prepare_data

# The rest of the face is imported when first used: it imports torch, which a command that
# only reads the store (its RunResult rows) never needs.
_LAZY = {
    "lr_range": ("bench.train.lr_range", None),
    "slot": ("bench.train.slot", None),
    "timing": ("bench.train.timing", None),
    "canonical_kwargs": ("bench.train.modelinfo", "canonical_kwargs"),
    "model_facts": ("bench.train.modelinfo", "model_facts"),
    "execute": ("bench.train.runner", "execute"),
    "execute_task": ("bench.train.runner", "execute_task"),
    "group_tasks": ("bench.train.runner", "group_tasks"),
    "prepare_data": ("bench.train.runner", "prepare_data"),
}

__getattr__ = lazy_names(__name__, _LAZY)

__all__ = [
    "DEFAULT_TARGETS",
    "DONE_STATUSES",
    "RunResult",
    "canonical_kwargs",
    "execute",
    "execute_task",
    "group_tasks",
    "lr_range",
    "model_facts",
    "now",
    "one_line",
    "prepare_data",
    "slot",
    "timing",
]
