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

from bench.train import lr_range, slot, timing
from bench.train.modelinfo import canonical_kwargs, model_facts
from bench.train.runner import (
    DEFAULT_TARGETS,
    DONE_STATUSES,
    RunResult,
    execute,
    execute_task,
    group_tasks,
    now,
    one_line,
    prepare_data,
)

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
