"""What a run gives back: :class:`RunResult`, its statuses, the validation accuracies it
records the time to reach unless given others (:data:`DEFAULT_TARGETS`), the clock its times
are read from and the one line an exception becomes in its message. Plain data with no torch:
the store reads and writes it, and a command that only reads the store (``bench results``)
never imports torch."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.config import RunConfig

if TYPE_CHECKING:
    from bench.train.modelinfo import ModelFacts

STATUSES = ("ok", "diverged", "oom", "error", "skipped")
DONE_STATUSES = ("ok", "diverged")  # outcomes a re-run would only repeat
# validation accuracies: a run records the first epoch reaching each and the seconds until then
DEFAULT_TARGETS = (0.98, 0.99)


@dataclass
class RunResult:
    config: RunConfig
    status: str
    message: str = ""
    history: list[dict] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    facts: ModelFacts | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    checkpoint: bytes | None = None
    traceback: str | None = None
    started_at: str = ""
    finished_at: str = ""

    @property
    def run_id(self) -> str:
        return self.config.run_id


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def one_line(exc: BaseException) -> str:
    """An exception as the one line a result's message holds: its type and text."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:500]
