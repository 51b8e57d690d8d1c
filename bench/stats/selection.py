"""The best of k settings and the settings that cannot be told apart from it (a grid study's
*best set*, :func:`best_set`).

The best setting is the one with the highest mean (the report uses *validation* accuracy,
never the test set); its neighbours are the settings whose difference from it cannot be told
apart from 0, corrected for the k - 1 comparisons with the best: the simultaneous 95 % CI
(Bonferroni: each at 1 - 0.05 / (k - 1)) of the paired (by seed; Welch's when the seeds differ)
difference, on the grid of ``resolution``, includes 0. A setting whose interval excludes 0 is
worse than the data-chosen best, and the best set holds the truly best setting with
probability at least 95 % (Gupta's subset selection, Hsu's MCB with Bonferroni's bound),
however many settings the grid has: without the correction the set shrinks as the grid grows.
Settings with fewer than two seeds on a side cannot be compared.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from bench.stats.intervals import ALPHA, CONFIDENCE
from bench.stats.summaries import Difference, difference, summarize


@dataclass(frozen=True)
class BestSet:
    best: str | None  # the best setting's model label (None: nothing has a validation score)
    members: list[str]  # the best and every setting that cannot be told apart from it
    distinct: list[str]  # settings whose difference from the best excludes 0
    undecided: list[str]  # settings with n < 2 on a side: no comparison possible
    differences: dict[str, Difference]  # best minus each other setting (validation)
    confidence: float = CONFIDENCE  # of each interval in differences (Bonferroni)


def best_set(values: Mapping[str, Mapping[int, float]], resolution: float | None = None) -> BestSet:
    """From per-seed accuracies of each setting (``{model: {seed: acc}}``, on the grid of
    ``resolution``), the best setting (highest mean) and its neighbours; see the module
    docstring. The differences' intervals are the simultaneous ones."""
    means = {m: summarize(list(v.values())).mean for m, v in values.items()}
    scored = {m: x for m, x in means.items() if not math.isnan(x)}
    if not scored:
        return BestSet(None, [], [], list(values), {})
    best = max(scored, key=scored.get)
    confidence = 1 - ALPHA / max(1, len(values) - 1)
    members, distinct, undecided, diffs = [best], [], [], {}
    for model in values:
        if model == best:
            continue
        if model not in scored:
            undecided.append(model)
            continue
        d = difference(values[best], values[model], resolution, confidence)
        diffs[model] = d
        if not d.claim_possible:
            undecided.append(model)
        elif d.ci_excludes_zero:
            distinct.append(model)
        else:
            members.append(model)
    members = [best, *sorted(members[1:], key=lambda m: -scored[m])]
    return BestSet(best, members, distinct, undecided, diffs, confidence)
