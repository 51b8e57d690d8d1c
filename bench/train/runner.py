"""One run, start to finish: data, model, training, and everything recorded about it.

:func:`execute` never raises for a failing run: the result says ``ok``, ``diverged`` (the loss
stopped being finite), ``oom`` (out of memory), ``error`` (any other exception, with its
message) or ``skipped`` (the device is not available here), so a sweep always goes on. It
writes nothing: the caller stores the :class:`RunResult`, which is plain picklable data, so it
can travel back from a child process or another machine.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

import architectures
from bench.config import RunConfig, environment, fastpath, seeding, usercode
from bench.config.events import EventSink
from bench.data import datasets, splits, userdata
from bench.train import loop as train
from bench.train import seedpar, slot, timing
from bench.train.modelinfo import model_facts
from bench.train.result import DEFAULT_TARGETS, RunResult, now, one_line


def is_oom(exc: BaseException) -> bool:
    if isinstance(exc, torch.cuda.OutOfMemoryError | MemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


@contextlib.contextmanager
def run_settings(config: RunConfig) -> Iterator[None]:
    """Within the block, the process in the state the run's numbers depend on: its CPU thread
    count (part of its config: it changes float rounding) and its determinism flags (and
    whether new tensors are NaN-filled: :func:`bench.config.fastpath.fill_uninitialized_memory`),
    all as they were again after it (:func:`bench.config.seeding.run_settings`); and
    archbench's allocator setting, which stays (:func:`bench.config.environment.tune_allocator`
    says why). Everything here that trains a model (a run, seeds trained together, the LR range
    test) does it inside this block."""
    environment.tune_allocator()
    fill = fastpath.fill_uninitialized_memory(config.loader)
    with seeding.run_settings(config.threads, config.deterministic, fill):
        yield


def prepare_data(config: RunConfig, data_root: Path | None, device: torch.device):
    """Load, split, normalize and move the run's data; returns (DeviceData, sizes)."""
    info = datasets.get_dataset_info(config.dataset)
    shape = usercode.planned_input_shape(config.arch_source)
    shape = shape or architectures.get_info(config.arch).input_shape
    splits.require_compatible(config.arch, shape, info)
    images = datasets.load(config.dataset, data_root)
    parts = splits.split(images, info, config.val_size, config.limit_train, config.limit_test)
    normalize = splits.normalizer(config.recipe.normalize, info, parts.train_x)
    float_dtype = torch.float64 if config.dtype == "float64" else torch.float32
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format

    def images_on_device(x: torch.Tensor) -> torch.Tensor:
        x = normalize(x.to(device)).to(float_dtype)
        return x.contiguous(memory_format=memory_format) if x.dim() == 4 else x

    blank = torch.zeros((1, *images.image_shape), dtype=torch.uint8)
    data = train.DeviceData(
        train_x=images_on_device(parts.train_x),
        train_y=parts.train_y.to(device),
        val_x=images_on_device(parts.val_x),
        val_y=parts.val_y.to(device),
        test_x=images_on_device(parts.test_x),
        test_y=parts.test_y.to(device),
        fill=images_on_device(blank),
    )
    return data, parts.sizes


def batch_source(
    config: RunConfig, data_root: Path | None, device: torch.device, shuffle: torch.Generator
) -> tuple[train.BatchSource, dict[str, int]]:
    """The run's batches: tensors resident on the device (``fast``), or the reference
    DataLoader loop (``reference``)."""
    if config.loader == "reference":
        from bench.train import reference  # torchvision: imported by the runs that use it

        source = reference.LoaderBatches(config, data_root, device, shuffle)
        return source, source.sizes
    data, sizes = prepare_data(config, data_root, device)
    batches = train.TensorBatches(
        data, config.recipe.batch_size, shuffle, config.recipe.eval_batch_size
    )
    return batches, sizes


def build_model(config: RunConfig, device: torch.device) -> torch.nn.Module:
    """The run's model, initialised from its ``init`` seed, on ``device``."""
    seeding.seed_global(config.seed, "init", vary=config.vary)
    model = architectures.create(config.arch, **config.kwargs)
    model = model.to(device, dtype=torch.float64 if config.dtype == "float64" else None)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def serialize(model: torch.nn.Module, config: RunConfig) -> bytes:
    buffer = io.BytesIO()
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    stored = {"config": config.to_json(), "state_dict": state}
    if config.arch_source:  # the user's code, so the checkpoint loads after the file changes
        stored["code"] = usercode.source_text(config.arch_source)
    torch.save(stored, buffer)
    return buffer.getvalue()


def summarize(
    outcome: train.Outcome, sizes: dict[str, int], targets: Sequence[float]
) -> dict[str, Any]:
    """The run's headline numbers from its per-epoch history."""
    history = outcome.history
    last = history[-1] if history else None
    best = train.best_epoch(history)
    images = sizes["train"] * len(history)
    metrics: dict[str, Any] = {
        "epochs_completed": len(history),
        "n_train": sizes["train"],
        "n_val": sizes["val"],
        "n_test": sizes["test"],
        "time_train_s": outcome.train_s,
        "time_eval_s": outcome.eval_s,
        "images_per_s": images / outcome.train_s if outcome.train_s > 0 and images else None,
        "best_epoch": best.epoch if best else None,
        "best_val_acc": best.val_acc if best else None,
        "test_acc_at_best": best.test_acc if best else None,
        "time_to_target": train.time_to_targets(history, targets),
    }
    for name in ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"):
        metrics[name] = getattr(last, name) if last else None
    return metrics


def guarded(
    task: Sequence[RunConfig],
    train_fn: Callable[[list[RunResult], float, timing.TimingWatch], None],
    emit: EventSink | None = None,
) -> list[RunResult]:
    """Results for ``task``'s runs, filled in by ``train_fn(results, t_start, watch)`` (which
    starts and stops ``watch`` around training): ``skipped`` when the device is not available
    here, ``oom``/``error`` (with message and traceback) when training raises or the user's
    code exits (``sys.exit()``: :func:`bench.config.usercode.exits_as_errors`), and in every
    case the environment, total time and timestamps. Training happens inside the machine-wide
    slot (:mod:`bench.train.slot`; ``emit`` hears that it waits); the wait for it is not part
    of any time."""
    results = [RunResult(config=config, status="error", started_at=now()) for config in task]
    device = torch.device(task[0].device)
    available, reason = environment.device_available(task[0].device)
    if not available:
        for result in results:
            result.status, result.message = "skipped", reason
            result.environment = environment.capture(torch.device("cpu"))
            result.finished_at = now()
        return results
    threads = task[0].threads or torch.get_num_threads()
    with slot.training(threads, emit) as waited:
        t_start = time.perf_counter()
        watch = timing.TimingWatch(threads, task[0].device, waited)
        captured = None
        try:
            with usercode.exits_as_errors():  # sys.exit() in user code: an error, not an exit
                for config in task:  # user code and data: imported here, their hashes checked
                    usercode.ensure(config.arch, config.arch_source)
                    userdata.ensure(config.dataset, config.dataset_source)
                with run_settings(task[0]):
                    try:
                        train_fn(results, t_start, watch)
                    finally:  # the settings the run trained under
                        captured = environment.capture(device)
        except Exception as exc:  # a failing run is a result, not a crash
            for result in results:
                result.status = "oom" if is_oom(exc) else "error"
                result.message = one_line(exc)
                result.traceback = traceback.format_exc()
        finally:
            watch.close()
            if device.type == "cuda":
                torch.cuda.empty_cache()
    captured = captured or environment.capture(device)
    for result in results:
        result.metrics["time_total_s"] = (time.perf_counter() - t_start) / len(task)
        result.environment = dict(captured)
        result.finished_at = now()
    return results


def record_outcome(
    result: RunResult,
    outcome: train.Outcome,
    sizes: dict[str, int],
    targets: Sequence[float],
    **measures: Any,
) -> None:
    """Fill ``result`` from ``outcome``; a run that trained to the end but has no finite test
    accuracy (say, no test images) is an ``error``, never ``ok``."""
    result.status, result.message = outcome.status, outcome.message
    result.history = [record.as_dict() for record in outcome.history]
    result.metrics = {**summarize(outcome, sizes, targets), **measures}
    test_acc = result.metrics.get("test_acc")
    if result.status == "ok" and (test_acc is None or not math.isfinite(test_acc)):
        result.status = "error"
        result.message = (
            f"the run ended without a test accuracy ({sizes['test']} test images): a run is "
            "ok only when it is scored on a test set"
        )


def data_ready_s(device: torch.device, t_start: float) -> float:
    """Seconds since ``t_start``, once the device has finished the data's transfer."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - t_start


def execute(
    config: RunConfig,
    data_root: Path | None = None,
    *,
    emit: EventSink | None = None,
    targets: Sequence[float] = DEFAULT_TARGETS,
) -> RunResult:
    """Train one run and return everything to record; never raises for a failing run.
    Its progress (steps, epochs, a wait for the training slot) goes to ``emit``."""
    device = torch.device(config.device)

    def train_one(results: list[RunResult], t_start: float, watch: timing.TimingWatch) -> None:
        (result,) = results
        result.facts = model_facts(config.arch, config.kwargs, config.arch_source)
        shuffle = seeding.generator(config.seed, "shuffle", vary=config.vary)
        source, sizes = batch_source(config, data_root, device, shuffle)
        model = build_model(config, device)
        trained = torch.compile(model) if config.compile else model
        augment_gen = seeding.generator(config.seed, "augment", device, vary=config.vary)
        seeding.seed_global(config.seed, "dropout", vary=config.vary)
        time_data_s = data_ready_s(device, t_start)
        peak = environment.PeakMemory(device)
        peak.reset()
        watch.start()
        outcome = train.fit(
            trained,
            source,
            config.recipe,
            augment_gen=augment_gen,
            dtype=config.dtype,
            channels_last=config.channels_last,
            emit=emit,
            foreach=True if config.loader == "fast" else None,
            fused=config.fused_optimizer,
        )
        watch.stop()
        record_outcome(
            result,
            outcome,
            sizes,
            targets,
            time_data_s=time_data_s,
            peak_mem_bytes=peak.peak_bytes(),
            peak_mem_kind=peak.kind,
            parallel_seeds=1,
            **watch.conditions(),
        )
        if result.status == "ok":
            result.checkpoint = serialize(model, config)

    return guarded([config], train_one, emit)[0]


def group_tasks(configs: Sequence[RunConfig]) -> list[list[RunConfig]]:
    """The units of work of a sweep: one config each, except that configs with
    ``seed_parallel`` set which differ only in their seed form one task, trained together."""
    tasks: list[list[RunConfig]] = []
    groups: dict[str, list[RunConfig]] = {}
    for config in configs:
        if not config.seed_parallel:
            tasks.append([config])
            continue
        key = json.dumps({**config.identity(), "seed": None}, sort_keys=True)
        if key not in groups:
            groups[key] = []
            tasks.append(groups[key])
        groups[key].append(config)
    return tasks


def execute_group(
    task: Sequence[RunConfig],
    data_root: Path | None = None,
    *,
    emit: EventSink | None = None,
    targets: Sequence[float] = DEFAULT_TARGETS,
) -> list[RunResult]:
    """Train the seeds of one seed-parallel task together (see :mod:`bench.train.seedpar`)."""
    first = task[0]
    device = torch.device(first.device)

    def train_together(results: list[RunResult], t_start: float, watch: timing.TimingWatch) -> None:
        facts = model_facts(first.arch, first.kwargs, first.arch_source)
        data, sizes = prepare_data(first, data_root, device)
        stacked = seedpar.stack(
            [build_model(config, device) for config in task],
            dropout_gens=[seeding.generator(c.seed, "dropout", device, vary=c.vary) for c in task],
            channels_last=first.channels_last,
        )
        time_data_s = data_ready_s(device, t_start) / len(task)
        peak = environment.PeakMemory(device)
        peak.reset()
        watch.start()
        outcomes = seedpar.fit(
            stacked,
            data,
            first.recipe,
            shuffles=[seeding.generator(c.seed, "shuffle", vary=c.vary) for c in task],
            augment_gens=[seeding.generator(c.seed, "augment", device, vary=c.vary) for c in task],
            dtype=first.dtype,
            emit=emit,
            fused=first.fused_optimizer,
        )
        conditions = watch.stop().conditions(share=len(task))
        model = architectures.create(first.arch, **first.kwargs)
        for index, (result, outcome) in enumerate(zip(results, outcomes, strict=True)):
            result.facts = facts
            record_outcome(
                result,
                outcome,
                sizes,
                targets,
                time_data_s=time_data_s,
                peak_mem_bytes=peak.peak_bytes(),
                peak_mem_kind=peak.kind,
                parallel_seeds=len(task),
                **conditions,
            )
            if result.status == "ok":
                model.load_state_dict(stacked.state_dict(index))
                result.checkpoint = serialize(model, result.config)

    return guarded(task, train_together, emit)


def execute_task(
    task: Sequence[RunConfig],
    data_root: Path | None = None,
    *,
    emit: EventSink | None = None,
    targets: Sequence[float] = DEFAULT_TARGETS,
) -> list[RunResult]:
    """Run one task (see :func:`group_tasks`); one result per config, in order."""
    if task[0].seed_parallel:
        return execute_group(task, data_root, emit=emit, targets=targets)
    return [execute(config, data_root, emit=emit, targets=targets) for config in task]
