"""The questions a store answers: its runs split by the test set they were scored on, so that
the report computes its recap, pairwise tests, Pareto fronts and figures per dataset and never
pools two datasets (benchopt groups its results by dataset the same way).

A run's test set is its dataset (the stored name), the version of a user's dataset file (its
SHA-256, when the runs read two versions of one file) and ``--limit-test``: runs on different
test sets answer different questions, and accuracies on them cannot be compared. Each
:class:`Question` has a heading that names its dataset (and, where two questions share the
dataset's name, what sets them apart), in the order the datasets first ran.
"""

from __future__ import annotations

import dataclasses
import json

import pandas as pd

from bench.report import variants
from bench.report.markdown import text


@dataclasses.dataclass(frozen=True)
class Question:
    """The runs of one test set: ``key`` (:func:`test_set`), the dataset's stored name, its
    data version and test-set limit, and the ids of its runs (any status)."""

    key: str
    dataset: str
    digest: str  # a user dataset's file version (8 hex digits); "" for a built-in one
    limit_test: int | None
    run_ids: frozenset[str]


def test_set(config_json: str) -> str:
    """The test set a run (or an LR range test) was scored on, as a key."""
    fields = variants.config_fields(config_json)
    return json.dumps([fields.get("dataset"), _digest(fields), fields.get("limit_test")])


def _digest(fields: dict) -> str:
    source = fields.get("dataset_source")
    if not source:
        return ""
    return str(json.loads(source).get("sha256", ""))[:8]


def split(runs: pd.DataFrame) -> list[Question]:
    """``runs`` (the runs table, any status) as questions, one per test set, in the order
    their datasets first ran."""
    keys = [test_set(config) for config in runs.config_json]
    ids: dict[str, list[str]] = {}
    for key, run_id in zip(keys, runs.run_id, strict=True):
        ids.setdefault(key, []).append(run_id)
    found = []
    for key, members in ids.items():
        dataset, digest, limit = json.loads(key)
        found.append(Question(key, str(dataset), digest, limit, frozenset(members)))
    order = {name: i for i, name in enumerate(dict.fromkeys(q.dataset for q in found))}
    return sorted(found, key=lambda q: order[q.dataset])


def heading(question: Question, questions: list[Question]) -> str:
    """The markdown heading text of ``question`` (the dataset, escaped), with what sets it
    apart from the other questions on a dataset of the same name."""
    same = [q for q in questions if q.dataset == question.dataset]
    extra = []
    if len({q.digest for q in same}) > 1:
        extra.append(f"data {question.digest or 'built-in'}")
    if len({q.limit_test for q in same}) > 1:
        extra.append(
            f"test set: first {question.limit_test:,} images"
            if question.limit_test
            else "full test set"
        )
    return f"Dataset: {text(question.dataset)}" + (f" ({text(', '.join(extra))})" if extra else "")


def slug(question: Question, questions: list[Question]) -> str:
    """A short name for the question's figure files (unique among ``questions``)."""
    index = questions.index(question)
    base = question.dataset.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    same = [q for q in questions if q.dataset == question.dataset]
    return base if len(same) == 1 else f"{base}-{index + 1}"
