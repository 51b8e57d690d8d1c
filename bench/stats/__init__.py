"""Step 0, stats: the statistics over seeds, pure functions of per-seed values.

Holds intervals (:mod:`.intervals`: the t interval, prediction and bootstrap intervals),
tests over paired seeds and the Holm correction (:mod:`.significance`), effect sizes
(:mod:`.effects`), per-model summaries and the difference of two models
(:mod:`.summaries`) and the Pareto front of cost and accuracy (:mod:`.pareto`). The stopping
rule of ``--seeds auto`` (:mod:`bench.sweep.adaptive`) and the report use the same functions.

Imports: nothing from ``bench`` (numpy and scipy only).
Face: every public name of its modules, e.g. ``from bench import stats``;
``stats.summarize(values)``, ``stats.difference(a, b)``, ``stats.holm(p_values)``.
"""

from bench.stats.effects import effect_size, prob_superiority
from bench.stats.intervals import (
    ALPHA,
    BOOTSTRAP_SAMPLES,
    BOOTSTRAP_SEED,
    CONFIDENCE,
    bootstrap_interval,
    finite,
    paired,
    prediction_interval,
    t_interval,
)
from bench.stats.pareto import pareto_front
from bench.stats.significance import (
    EXACT_WILCOXON_N,
    holm,
    t_p_value,
    tost_p_value,
    wilcoxon_p_value,
)
from bench.stats.summaries import (
    NO_CLAIM,
    PAIRED,
    WELCH,
    Difference,
    Summary,
    bounded,
    difference,
    difference_on_shared,
    summarize,
)

__all__ = [
    "ALPHA",
    "BOOTSTRAP_SAMPLES",
    "BOOTSTRAP_SEED",
    "CONFIDENCE",
    "EXACT_WILCOXON_N",
    "NO_CLAIM",
    "PAIRED",
    "WELCH",
    "Difference",
    "Summary",
    "bootstrap_interval",
    "bounded",
    "difference",
    "difference_on_shared",
    "effect_size",
    "finite",
    "holm",
    "paired",
    "pareto_front",
    "prediction_interval",
    "prob_superiority",
    "summarize",
    "t_interval",
    "t_p_value",
    "tost_p_value",
    "wilcoxon_p_value",
]
