"""What a run becomes in the results store: its ``runs`` row, its ``history`` rows and its
``models`` row (:func:`record_rows`), and the time-to-accuracy columns read back from a row
(:func:`expand_runs`)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bench.config import usercode
from bench.store.schema import RUN_COLUMNS
from bench.train import RunResult


def record_rows(result: RunResult, checkpoint: Path | None, label: str | None) -> dict:
    """What :meth:`ResultsStore.record` writes for ``result``: its ``run`` row, its
    ``history`` rows and its ``model`` row (None without model facts)."""
    return {
        "run": run_row(result, checkpoint, label),
        "history": list(result.history),
        "model": model_row(result) if result.facts is not None else None,
    }


def run_row(result: RunResult, checkpoint: Path | None, label: str | None) -> dict:
    config, metrics, env, facts = result.config, result.metrics, result.environment, result.facts
    row = {
        "run_id": result.run_id,
        "status": result.status,
        "message": result.message,
        "label": label,
        "name": config.name or None,
        "arch": config.arch,
        "arch_kwargs": config.arch_kwargs,
        "dataset": config.dataset,
        "recipe": config.recipe.name,
        "seed": config.seed,
        "device": config.device,
        "dtype": config.dtype,
        "optimizer": config.recipe.optimizer,
        "lr": config.recipe.lr,
        "batch_size": config.recipe.batch_size,
        "epochs": config.recipe.epochs,
        "loader": config.loader,
        "seed_parallel": int(config.seed_parallel),
        "deterministic": int(config.deterministic),
        "config_json": config.to_json(),
        "model_key": facts.key if facts else None,
        "params": facts.total_params if facts else None,
        "trainable_params": facts.trainable_params if facts else None,
        "mult_adds": facts.mult_adds if facts else None,
        "time_to_target_json": json.dumps(metrics.get("time_to_target") or {}),
        "device_name": env.get("device_name"),
        "threads": env.get("threads"),
        "torch_version": env.get("torch_version"),
        "archbench_version": env.get("archbench_version"),
        "git_commit": env.get("git_commit"),
        "hostname": env.get("hostname"),
        "env_json": json.dumps(env, sort_keys=True),
        "traceback": result.traceback,
        "checkpoint": str(checkpoint.relative_to(checkpoint.parent.parent)) if checkpoint else None,
        "arch_code": usercode.stored_code(config.arch_source),
        "started_at": result.started_at,
        "finished_at": result.finished_at,
    }
    for name in RUN_COLUMNS:
        if name not in row and name in metrics:
            row[name] = metrics[name]
    return row


def model_row(result: RunResult) -> dict:
    facts = result.facts
    return {
        "model_key": facts.key,
        "arch": facts.arch,
        "arch_kwargs": facts.arch_kwargs,
        "input_shape": "x".join(map(str, facts.input_shape)),
        "total_params": facts.total_params,
        "trainable_params": facts.trainable_params,
        "mult_adds": facts.mult_adds,
        "summary": facts.summary,
    }


def expand_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Add ``tta_<target>_epochs``/``tta_<target>_s`` columns (time to validation accuracy)."""
    if runs.empty or "time_to_target_json" not in runs:
        return runs
    parsed = runs["time_to_target_json"].map(lambda text: json.loads(text or "{}"))
    targets = sorted({t for item in parsed for t in item}, key=float)
    extra = {}
    for target in targets:
        pct = f"{float(target) * 100:g}"
        extra[f"tta_{pct}_epochs"] = parsed.map(lambda d, t=target: (d.get(t) or {}).get("epochs"))
        extra[f"tta_{pct}_s"] = parsed.map(lambda d, t=target: (d.get(t) or {}).get("seconds"))
    return pd.concat([runs, pd.DataFrame(extra, index=runs.index)], axis=1)
