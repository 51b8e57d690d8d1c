"""Executors: where the runs of a sweep execute.

An executor takes the tasks still to run (lists of configs, see
:func:`bench.train.runner.group_tasks`; most hold one config) and hands each :class:`RunResult`
back to the sweep's ``on_result`` as it completes; only the sweep (the driver) writes the
results store, so resume and crash safety are the same whichever executor ran the runs.

- ``local``: in this process, one task after another (the default), with live progress.
- ``process``: each task in a fresh child process, one after another, so a run that crashes
  the interpreter (a segfault, ``os._exit``, the OOM killer) or hangs past ``timeout_s`` is
  recorded as ``error`` and the sweep goes on. The children are forked from a server process
  that has imported torch and archbench once (:func:`child_context`), so a child starts in a
  fraction of a second instead of paying those imports (seconds) again.
- ``local`` with ``jobs`` > 1 (``bench run --jobs N``): up to N tasks at once, each in a
  child process, with the cores split between them (:class:`ParallelExecutor`).
- ``ray``: one Ray task per task, spread over a Ray cluster (:mod:`bench.sweep.ray_executor`; Ray is
  the optional extra ``archbench[ray]`` and is imported only when asked for).

:func:`bench.sweep.backends.make_executor` picks one by name.

Threads are part of a run's numbers: on CPU, the same run with 1 and with 2 intra-op threads
gives different float results. So the thread count is part of each run's config
(:attr:`bench.config.runs.RunConfig.threads`, which ``bench run`` fills from ``--threads`` or the
driver's torch default) and each run applies it wherever it executes: process and Ray runs
(Ray starts workers with ``OMP_NUM_THREADS=1``) equal local ones bit for bit.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

from bench.config import RunConfig, UsageError
from bench.config.events import EventSink, TaskStarted
from bench.config.exiting import exit_now
from bench.train import RunResult, now, one_line, slot

OnResult = Callable[[RunResult, bool], None]  # a result, and whether its task ran live here
TaskFn = Callable[[Sequence[RunConfig], Path | None, Sequence[float]], list[RunResult]]


def run_task(
    task: Sequence[RunConfig],
    data_root: Path | None,
    targets: Sequence[float],
    emit: EventSink | None = None,
) -> list[RunResult]:
    """Run one task (the default body of every executor's task); its live progress goes to
    ``emit`` (only in the driver's own process: a child's would have nowhere to go)."""
    from bench.train import execute_task  # torch: imported by the first task, not by a parser

    return execute_task(task, data_root, emit=emit, targets=targets)


def failed_results(
    task: Sequence[RunConfig],
    message: str,
    *,
    started_at: str,
    trace: str | None = None,
    status: str = "error",
) -> list[RunResult]:
    """Results for every run of a task that ended without returning its own (its process
    died, it timed out, the task itself raised, or it could not be scheduled)."""
    return [
        RunResult(
            config=config,
            status=status,
            message=message,
            environment={"threads": config.threads},
            traceback=trace,
            started_at=started_at,
            finished_at=now(),
        )
        for config in task
    ]


def check_timeout(timeout_s: float | None) -> None:
    if timeout_s is not None and not (timeout_s > 0 and math.isfinite(timeout_s)):
        raise UsageError(f"--timeout must be > 0 seconds and finite, got {timeout_s}")


class Executor:
    """The interface: :meth:`validate` refuses what cannot run before anything is written;
    :meth:`run` executes the tasks and calls ``on_result`` for each result, in the driver,
    telling ``emit`` what a display may show (a task started here, its steps and epochs, a
    wait for the training slot, where the runs execute)."""

    name = "executor"
    data_here = True  # its runs read the data under this machine's data root

    def validate(self, configs: Sequence[RunConfig]) -> None:
        """Raise UsageError for configs this executor cannot run (default: it runs all)."""

    def run(
        self,
        tasks: Sequence[Sequence[RunConfig]],
        *,
        data_root: Path | None,
        targets: Sequence[float],
        emit: EventSink,
        on_result: OnResult,
    ) -> None:
        raise NotImplementedError

    def deliver(
        self, results: Sequence[RunResult], on_result: OnResult, live: bool = False
    ) -> None:
        """Hand results to the sweep, stamped with what only the driver knows: this executor
        and the command that asked for the runs (a worker's own command line is not it).
        ``live``: their task ran in this process, announced by :class:`TaskStarted`."""
        for result in results:
            result.environment.update(executor=self.name, command=" ".join(sys.argv))
            on_result(result, live)


@dataclass
class LocalExecutor(Executor):
    """Runs every task in this process, in order, with live progress."""

    name = "local"

    def run(self, tasks, *, data_root, targets, emit, on_result) -> None:
        for task in tasks:
            labels = tuple(config.label for config in task)
            emit(TaskStarted(labels, tuple(config.run_id for config in task)))
            results = run_task(task, data_root, targets, emit=emit)
            self.deliver(results, on_result, live=True)


# what a child imports before its task: this module, torch and archbench's training, and what
# torch imports at a process's first run (use_deterministic_algorithms and the optimizers
# import torch._dynamo through torch._inductor.config: seconds of their own)
PRELOAD = ["bench.sweep.executors", "bench.train.runner", "torch._inductor.config"]


def child_context():
    """The multiprocessing context of the ``process`` executors' children: "forkserver" where
    the platform has it (Linux, macOS), "spawn" elsewhere. The fork server is a fresh
    interpreter, started at the first child, that imports :data:`PRELOAD` (no CUDA, no
    thread pool of torch's yet: it only imports) and forks each child from there; a child
    then sets itself up as a spawned one does (``sys.path``, the working directory, the main
    module) and takes the driver's environment as it is when the child starts
    (:func:`_child_main`). A fork server some other code of this process started first is
    used as it is (its children import what it did not)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _child_main(connection, task_fn: TaskFn, task, data_root, targets, environ) -> None:
    """The body of a ``process`` executor child: take the driver's environment (``environ``:
    a forked child has the fork server's, as it was when the server started), run the task,
    send the results back (and stop early if the driver dies: :func:`exit_with_parent`)."""
    os.environ.clear()
    os.environ.update(environ)
    exit_with_parent()
    try:
        payload = ("results", task_fn(task, data_root, targets))
    except Exception as exc:  # the task raised outside a run's own error handling
        payload = ("raised", (one_line(exc), traceback.format_exc()))
    connection.send(payload)
    connection.close()
    # end as a spawned child ends, its atexit handlers run (multiprocessing would end a forked
    # one without them), but without Python's teardown, a second the driver would wait for
    exit_now(0)


def exit_with_parent() -> None:
    """In a child process: exit as soon as its parent is gone (killed with ``kill -9``, say),
    instead of training on for a driver that can no longer record the result. A daemon
    thread waits on the parent's sentinel, which becomes ready when the parent dies. Its one
    line goes straight to the child's stderr (file descriptor 2, which the driver's terminal
    or log shares): the driver that would show an event is gone, and this process is about to
    be."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        line = f"archbench worker {os.getpid()}: the driver (pid {parent.pid}) is gone; stopping\n"
        with contextlib.suppress(OSError):
            os.write(2, line.encode())
        os._exit(1)

    threading.Thread(target=watch, name="archbench-parent-watch", daemon=True).start()


def describe_exit(exitcode: int | None) -> str:
    """``worker process died (exit code -9, SIGKILL)``."""
    name = ""
    if exitcode is not None and exitcode < 0:
        with contextlib.suppress(ValueError):
            name = f", {signal.Signals(-exitcode).name}"
    return f"worker process died (exit code {exitcode}{name})"


@dataclass
class ProcessExecutor(Executor):
    """Runs each task in a fresh child process (:func:`child_context`), one at a time.

    The child sends its results back through a pipe. A child that exits without sending
    them (a segfault, ``os._exit``, the OOM killer) has each of its runs recorded as
    ``error`` "worker process died (exit code N)"; one still running ``timeout_s`` seconds
    after it started (its imports included where there is no fork server; the fork server's
    own start, at the first child, is not counted) is killed and recorded as ``error``
    "timed out after N s". Either way the sweep goes on. A child whose driver dies (``kill
    -9``) notices and exits (:func:`exit_with_parent`). ``task_fn`` is what the child runs
    (default :func:`run_task`); it must be importable by name from the child. This process
    takes the machine-wide training slot (:mod:`bench.train.slot`) for each child before it
    starts, so a wait for the slot is never counted against ``timeout_s``.
    """

    timeout_s: float | None = None
    task_fn: TaskFn = run_task

    name = "process"

    def __post_init__(self) -> None:
        check_timeout(self.timeout_s)
        self.children: set = set()  # running now (several with ParallelExecutor)

    def run(self, tasks, *, data_root, targets, emit, on_result) -> None:
        context = child_context()
        for task in tasks:
            # the slot is taken here, so that --timeout never counts a wait for it
            with slot.held_for_children(emit):
                results = self.run_one(context, task, data_root, targets)
            self.deliver(results, on_result)

    def run_one(self, context, task, data_root, targets) -> list[RunResult]:
        started_at = now()
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(
            target=_child_main,
            args=(sender, self.task_fn, list(task), data_root, list(targets), dict(os.environ)),
            name=f"archbench-{task[0].run_id}",
        )
        child.start()
        self.children.add(child)
        sender.close()  # the child now holds the only sending end: EOF if it dies

        def failed(message: str, trace: str | None = None) -> list[RunResult]:
            return failed_results(task, message, started_at=started_at, trace=trace)

        try:
            if not receiver.poll(self.timeout_s):
                return failed(f"timed out after {self.timeout_s:g} s (--timeout)")
            try:
                kind, payload = receiver.recv()
            except (EOFError, OSError):  # died before or while sending its results
                child.join()
                return failed(describe_exit(child.exitcode))
            child.join(timeout=30)  # it exits once its results are sent
            if kind == "raised":
                message, trace = payload
                return failed(message, trace)
            return payload
        finally:
            if child.is_alive():  # timed out, interrupted (Ctrl-C), or it would not exit
                child.kill()
                child.join()
            self.children.discard(child)
            receiver.close()


@dataclass
class ParallelExecutor(ProcessExecutor):
    """``bench run --jobs N``: up to ``jobs`` tasks at once, each in its own child process (as
    with ``process``), for runs whose thread counts split the cores between them. This process
    holds the machine-wide training slot (:mod:`bench.train.slot`) while its children train,
    so another ``bench run`` waits instead of oversubscribing the cores."""

    jobs: int = 2

    name = "local"

    def run(self, tasks, *, data_root, targets, emit, on_result) -> None:
        if not tasks:
            return
        context = child_context()
        with (
            slot.held_for_children(emit),
            futures.ThreadPoolExecutor(max_workers=self.jobs) as pool,
        ):
            running = [
                pool.submit(self.run_one, context, task, data_root, targets) for task in tasks
            ]
            try:
                for done in futures.as_completed(running):
                    self.deliver(done.result(), on_result)
            except BaseException:  # interrupted: start nothing more, stop what runs
                for future in running:
                    future.cancel()
                for child in list(self.children):
                    child.kill()
                raise
