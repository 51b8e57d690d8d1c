"""Step 0, stats: the statistics over seeds, pure functions of per-seed values.

Holds intervals (:mod:`.intervals`: the test set's grid and the smallest spread it shows, the t
interval, the interval of a mean accuracy inside [0, 1], prediction, binomial, chi-square, F
and bootstrap intervals), tests over seeds, Holm's correction and one family of decisions
(:mod:`.significance`), effect sizes (:mod:`.effects`), per-model summaries and the difference
of two models (:mod:`.summaries`), the ``--seeds auto`` stopping rule as arithmetic on arrays
and the seeds it needs for a given power (:mod:`.sequential`), the best of k settings and those
that cannot be told apart from it (:mod:`.selection`), how much each axis of a grid matters
(:mod:`.anova`: shares of the variance beside the seed noise) and the Pareto front of cost and
accuracy (:mod:`.pareto`). The stopping rule of ``--seeds auto`` (:mod:`bench.sweep.adaptive`),
the report and ``bench plan`` use the same functions; ``tests/stats/`` calibrates them.

Imports: nothing from ``bench`` (numpy and scipy only; scipy inside the functions that use it,
so that importing the package, as every ``bench`` command does, does not pay scipy's import).
Face: every public name of its modules, e.g. ``from bench import stats``;
``stats.summarize(values)``, ``stats.difference(a, b, resolution)``, ``stats.holm(p_values)``.
"""

from bench.stats.anova import Decomposition, Term, decompose
from bench.stats.effects import effect_size, prob_superiority
from bench.stats.intervals import (
    ALPHA,
    BOOTSTRAP_SAMPLES,
    BOOTSTRAP_SEED,
    CONFIDENCE,
    accuracy_interval,
    binomial_interval,
    bootstrap_interval,
    finite,
    grid_of,
    on_grid,
    paired,
    prediction_interval,
    rounding_std,
    std_interval,
    t_interval,
    variance_ratio,
    variance_ratio_interval,
)
from bench.stats.pareto import pareto_front
from bench.stats.selection import BestSet, best_set
from bench.stats.sequential import (
    PLAN_LIMIT,
    UNRESOLVED,
    Power,
    RuleOutcome,
    look,
    looks,
    power,
    run_rule,
    seeds_for_power,
)
from bench.stats.significance import (
    BETTER,
    EQUIVALENT,
    EXACT_WILCOXON_N,
    OPEN,
    decide,
    holm,
    holm_rows,
    t_p_value,
    tost_p_value,
    welch,
    welch_p_value,
    wilcoxon_p_value,
)
from bench.stats.summaries import (
    NO_CLAIM,
    PAIRED,
    WELCH,
    Difference,
    Summary,
    difference,
    difference_on_shared,
    summarize,
    summarize_accuracy,
)

__all__ = [
    "ALPHA",
    "BETTER",
    "BOOTSTRAP_SAMPLES",
    "BOOTSTRAP_SEED",
    "CONFIDENCE",
    "EQUIVALENT",
    "EXACT_WILCOXON_N",
    "NO_CLAIM",
    "OPEN",
    "PAIRED",
    "PLAN_LIMIT",
    "UNRESOLVED",
    "WELCH",
    "BestSet",
    "Decomposition",
    "Difference",
    "Power",
    "RuleOutcome",
    "Summary",
    "Term",
    "accuracy_interval",
    "best_set",
    "binomial_interval",
    "bootstrap_interval",
    "decide",
    "decompose",
    "difference",
    "difference_on_shared",
    "effect_size",
    "finite",
    "grid_of",
    "holm",
    "holm_rows",
    "look",
    "looks",
    "on_grid",
    "paired",
    "pareto_front",
    "power",
    "prediction_interval",
    "prob_superiority",
    "rounding_std",
    "run_rule",
    "seeds_for_power",
    "std_interval",
    "summarize",
    "summarize_accuracy",
    "t_interval",
    "t_p_value",
    "tost_p_value",
    "variance_ratio",
    "variance_ratio_interval",
    "welch",
    "welch_p_value",
    "wilcoxon_p_value",
]
