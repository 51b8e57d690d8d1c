"""Choosing an executor by name: ``local``, ``process`` or ``ray`` (see :mod:`bench.sweep.executors`
and :mod:`bench.sweep.ray_executor`). Kept apart from both so that neither imports the other's
chooser: the Ray executor builds on the executors module, and this module on both."""

from __future__ import annotations

from bench.config import UsageError
from bench.sweep.executors import Executor, LocalExecutor, ParallelExecutor, ProcessExecutor

EXECUTORS = ("local", "process", "ray")


def make_executor(
    name: str,
    *,
    timeout_s: float | None = None,
    ray_address: str | None = None,
    cpus_per_task: int | None = None,
    jobs: int = 1,
) -> Executor:
    """The executor called ``name`` with its options; UsageError for an unknown name, an
    option the executor does not take, or ``ray`` when Ray is not installed."""
    if name not in EXECUTORS:
        raise UsageError(f"unknown executor {name!r}; valid: {', '.join(EXECUTORS)}")
    if jobs > 1 and name == "ray":
        raise UsageError(
            "--jobs applies to --executor local or process (Ray runs tasks in parallel "
            "itself: it reserves --cpus-per-task CPUs for each)"
        )
    if name != "ray":
        for flag, value in (("--ray-address", ray_address), ("--cpus-per-task", cpus_per_task)):
            if value is not None:
                raise UsageError(f"{flag} applies to --executor ray only (got --executor {name})")
    if jobs > 1:  # children that can be stopped: --timeout applies
        parallel = ParallelExecutor(timeout_s=timeout_s, jobs=jobs)
        parallel.name = name  # where each run executed: recorded with it
        return parallel
    if name == "local":
        if timeout_s is not None:
            raise UsageError("--timeout needs --executor process or ray (local runs cannot stop)")
        return LocalExecutor()
    if name == "process":
        return ProcessExecutor(timeout_s=timeout_s)
    from bench.sweep import ray_executor  # Ray is optional: imported only when asked for

    return ray_executor.RayExecutor(
        address=ray_address, cpus_per_task=cpus_per_task, timeout_s=timeout_s
    )
