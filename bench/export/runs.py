"""What the exporters take from the store for each run: every stored field (one row of
:meth:`bench.store.Tables.full`), its per-epoch history, its torchinfo summary, its suites, the
model it is a seed of (its variant and that variant's label, as the report names it), and the
parameters, metrics and times that MLflow and TensorBoard are given."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from bench.report import questions, variants
from bench.store import Tables
from bench.train.modelinfo import readable_summary

# the per-epoch columns of the history table, as each exporter names them
EPOCH_METRICS = (
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "test_loss",
    "test_acc",
    "lr",
    "train_s",
    "eval_s",
    "cum_train_s",
    "images_per_s",
)
# run-level numbers of the runs table (final numbers are the last epoch's series)
RUN_METRICS = (
    "epochs_completed",
    "best_epoch",
    "best_val_acc",
    "test_acc_at_best",
    "n_train",
    "n_val",
    "n_test",
    "params",
    "trainable_params",
    "mult_adds",
    "time_data_s",
    "time_train_s",
    "time_eval_s",
    "time_total_s",
    "images_per_s",
    "parallel_seeds",
    "peak_mem_bytes",
    "cpu_s",
    "cpu_wall_s",
    "cpu_util",
    "slot_wait_s",
)


@dataclass
class StoredRun:
    """One stored run as the exporters see it."""

    row: dict[str, Any]  # every field: a row of Tables.full()
    history: pd.DataFrame  # its epochs, in order
    summary: str | None  # the torchinfo summary of its model
    suites: list[str]
    model: str  # the label of its variant (config minus seed), e.g. "cnn (epochs=1)"
    variant: str  # 12 hex digits naming the variant, stable across stores

    @property
    def run_id(self) -> str:
        return self.row["run_id"]

    @property
    def seed(self) -> int:
        return int(self.row["seed"])

    @property
    def status(self) -> str:
        return self.row["status"]

    def config(self) -> dict[str, Any]:
        return json.loads(self.row["config_json"])

    def environment(self) -> dict[str, Any]:
        return json.loads(self.row["env_json"] or "{}")

    def params(self) -> dict[str, Any]:
        """The config flattened (``recipe.lr``, ``arch_kwargs``, ``seed``); a field that is
        not set (``limit_train``, a full batch's ``recipe.batch_size``) is None."""
        return {
            name.removeprefix("config."): value if present(value) else None
            for name, value in self.row.items()
            if name.startswith("config.")
        }

    def run_metrics(self) -> dict[str, float]:
        """The run's own numbers (:data:`RUN_METRICS` and the time-to-accuracy columns)."""
        names = [*RUN_METRICS, *(c for c in self.row if c.startswith("tta_"))]
        return {n: float(self.row[n]) for n in names if present(self.row.get(n))}

    def code_hash(self) -> str | None:
        """The SHA-256 of the user's code file the architecture came from (None: registry)."""
        source = self.config().get("arch_source")
        return json.loads(source)["sha256"] if source else None

    def start_ms(self) -> int:
        return timestamp_ms(self.row.get("started_at"))

    def end_ms(self) -> int:
        return timestamp_ms(self.row.get("finished_at")) or self.start_ms()


def present(value: Any) -> bool:
    """A stored value that is there: not None, not NaN (infinities are values)."""
    if value is None or value is pd.NA:
        return False
    return not (isinstance(value, float) and math.isnan(value))


def timestamp_ms(text: Any) -> int:
    """An ISO timestamp from the store in milliseconds since the epoch (0 when missing)."""
    if not isinstance(text, str) or not text:
        return 0
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def stored_runs(tables: Tables, run_ids: Iterable[str] | None = None) -> list[StoredRun]:
    """The runs of ``tables`` (only ``run_ids`` when given), in the store's order. Labels are
    those of every variant in the store on the same test set (dataset, data version, test
    limit; as the report's per-dataset sections name them), so a run keeps its name when runs
    on other datasets are added."""
    full = tables.full()
    if full.empty:
        return []
    keys = [variants.variant_key(text) for text in full.config_json]
    by_test_set: dict[str, list[str]] = {}  # the report's sections name them among these
    for key, text in zip(keys, full.config_json, strict=True):
        by_test_set.setdefault(questions.test_set(text), []).append(key)
    labels = {}
    for same_test_set in by_test_set.values():
        labels.update(variants.labels(same_test_set))
    wanted = None if run_ids is None else set(run_ids)
    summaries = tables.models.drop_duplicates("model_key").set_index("model_key").summary
    summaries = summaries.map(lambda t: readable_summary(t) if isinstance(t, str) else t)
    member = tables.suite_runs.drop_duplicates(["suite", "run_id"])
    suites = member.groupby("run_id").suite.agg(sorted).to_dict()
    histories = dict(tuple(tables.history.sort_values(["run_id", "epoch"]).groupby("run_id")))
    found = []
    for key, row in zip(keys, full.to_dict(orient="records"), strict=True):
        if wanted is not None and row["run_id"] not in wanted:
            continue
        found.append(
            StoredRun(
                row=row,
                history=histories.get(row["run_id"], tables.history.iloc[:0]),
                summary=summaries.get(row["model_key"]) if present(row["model_key"]) else None,
                suites=suites.get(row["run_id"], []),
                model=labels[key],
                variant=hashlib.sha256(key.encode()).hexdigest()[:12],
            )
        )
    return found


def suite_digest(runs: Iterable[StoredRun]) -> str:
    """What a suite's report was made from: its runs and when each finished (a hash)."""
    text = json.dumps(sorted((r.run_id, str(r.row.get("finished_at"))) for r in runs))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
