"""``--seeds auto``: as many seeds as the comparison needs, decided by a pure rule on stored
per-seed values, so that a killed run resumes to the same decisions.

**The rule** (:func:`replay`). Seeds are added in a fixed order (0, 1, 2, ...) at fixed
*looks*: ``n = min_seeds``, then ``n + ceil(n / 2)`` (at least one more), up to ``max_seeds``
(:func:`looks`; 3, 5, 8, 12, 18, 20 for the defaults). At each look every still-open pair of
models is tested on its paired per-seed differences (seeds ``0..n-1`` of both), put on the test
set's grid (``1 / n_test``) with their spread floored by one grid step
(:mod:`bench.stats.significance`):

- *better*: the paired t-test rejects "no difference";
- *equivalent within ±margin pp*: two one-sided t-tests (TOST) reject "|difference| >= margin".

Both tests of every open pair form one family, Holm-corrected, at the level of this look
(below; :func:`bench.stats.sequential.look`, the same code a simulation of the rule runs). A
pair settled at a look keeps that verdict and gets no more seeds; a model gets more seeds only
while it takes part in an open pair. Pairs still open at ``max_seeds`` are *unresolved after n
seeds*. When both tests reject (a real difference smaller than the margin), the verdict is
*better*.

**Optional stopping.** Looking at the data after every round and stopping when a test
rejects inflates the error rate of a fixed-n test. The number of looks K is fixed in advance by
``--min-seeds`` and ``--max-seeds`` (never by the data), and the 5 % error budget is spent
evenly over them: each look tests at ``alpha / K`` (a Bonferroni alpha-spending function).
Whatever the look at which a pair stops, the chance of any wrong *better* or *equivalent*
verdict over the whole run stays at most 5 % (Holm within a look, Bonferroni across looks;
measured in docs/calibration.md). It is conservative (O'Brien-Fleming or Pocock boundaries
would spend less at early looks) but needs no assumption about how the looks are correlated,
and it is easy to check by hand.

The rule reads only per-seed values, so the sweep and the report replay it on what the store
holds: after a ``kill -9`` the same command finds the first look whose seeds are missing, runs
exactly those, and reaches the same verdicts; the report replays it to print them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bench import stats
from bench.config import RunConfig
from bench.config.events import AdaptiveStarted, EventSink, RoundSettled, RoundStarted, drop
from bench.store import ResultsStore
from bench.train import RunResult

if TYPE_CHECKING:
    from bench.sweep import sweep

DEFAULT_MIN_SEEDS, DEFAULT_MAX_SEEDS, DEFAULT_MARGIN_PP = 3, 20, 0.1
BETTER, EQUIVALENT, UNRESOLVED, OPEN = "better", "equivalent", "unresolved", "open"


@dataclass(frozen=True)
class Settings:
    """What an adaptive run was asked for (stored with it, so the report can replay it)."""

    min_seeds: int = DEFAULT_MIN_SEEDS
    max_seeds: int = DEFAULT_MAX_SEEDS
    margin_pp: float = DEFAULT_MARGIN_PP
    alpha: float = stats.ALPHA

    def looks(self) -> list[int]:
        return looks(self.min_seeds, self.max_seeds)

    @property
    def alpha_per_look(self) -> float:
        return self.alpha / len(self.looks())

    def describe(self) -> str:
        k = len(self.looks())
        return (
            f"looks at n = {', '.join(map(str, self.looks()))} "
            f"(--min-seeds {self.min_seeds}, --max-seeds {self.max_seeds}, fixed in advance); "
            f"each look tests at alpha {self.alpha:g}/{k} = {self.alpha_per_look:.4g} "
            f"(Bonferroni alpha-spending); the open pairs' t-tests and TOSTs adjusted together "
            f"(Holm's step-down, at most one true hypothesis per pair); "
            f"equivalence margin ±{self.margin_pp:g} pp; per-seed differences on the test set's "
            "grid"
        )


looks = stats.looks  # the seed counts at which the rule looks


@dataclass
class PairDecision:
    a: str
    b: str
    verdict: str  # BETTER (winner below), EQUIVALENT, UNRESOLVED, or OPEN (seeds missing)
    winner: str | None = None
    n: int = 0  # seeds the verdict rests on
    diff: float = math.nan  # mean of a - b over those seeds
    p_value: float = math.nan  # Holm-adjusted within its look, paired t-test
    p_tost: float = math.nan  # Holm-adjusted within its look, TOST
    look: int = 0  # the look (1-based) of the verdict, or the last one played
    level: float = math.nan  # the level the look tested at (alpha / number of looks)

    def text(self, margin_pp: float) -> str:
        if self.verdict == BETTER:
            return f"{self.winner} better"
        if self.verdict == EQUIVALENT:
            return f"equivalent within ±{margin_pp:g} pp"
        if self.verdict == UNRESOLVED:
            return f"unresolved after {self.n} seeds"
        return f"open at {self.n} seeds"


@dataclass
class Round:
    n: int
    settled: list[PairDecision] = field(default_factory=list)  # settled at this look
    still_open: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Replay:
    """The rule replayed on the values at hand. ``missing``: per model, the seeds the next
    look needs that are not there yet (empty when the run is complete)."""

    pairs: list[PairDecision]
    rounds: list[Round]
    missing: dict[str, list[int]]

    @property
    def complete(self) -> bool:
        return not self.missing

    def seeds_used(self) -> dict[str, int]:
        """Per model, the seeds any of its pairs needed (what the sweep trains)."""
        used: dict[str, int] = {}
        for pair in self.pairs:
            for model in (pair.a, pair.b):
                used[model] = max(used.get(model, 0), pair.n)
        return used


def replay(
    values: Mapping[str, Mapping[int, float]],
    settings: Settings,
    seed_order: Sequence[int] | None = None,
    n_test: int | Mapping[str, int | None] | None = None,
) -> Replay:
    """Replay the rule on ``values`` (per model, per seed: a fraction such as test accuracy)
    for the pairs of ``values``' models in their order. Seeds are taken in ``seed_order``
    (default 0, 1, 2, ...). ``n_test``: the size of the test set the values were measured on
    (one for all, or per model), which sets the grid; None: no grid."""
    order = list(seed_order) if seed_order is not None else list(range(settings.max_seeds))
    models = list(values)
    sizes = n_test if isinstance(n_test, Mapping) else dict.fromkeys(models, n_test)
    decisions = {pair: PairDecision(*pair, OPEN) for pair in itertools.combinations(models, 2)}
    margin = settings.margin_pp / 100
    rounds: list[Round] = []
    points = settings.looks()
    level = settings.alpha_per_look
    for index, n in enumerate(points):
        open_pairs = [pair for pair, d in decisions.items() if d.verdict == OPEN]
        if not open_pairs:
            break
        seeds = order[:n]
        needed = dict.fromkeys(m for pair in open_pairs for m in pair)
        missing = {m: [s for s in seeds if s not in values[m]] for m in needed}
        missing = {m: s for m, s in missing.items() if s}
        if missing:
            for pair in open_pairs:
                decisions[pair].n = n
            return Replay(list(decisions.values()), rounds, missing)
        diffs = np.array([[values[a][s] - values[b][s] for s in seeds] for a, b in open_pairs])
        resolution = stats.grid_of(*(sizes.get(m) for m in needed))  # 1 / lcm of the sizes
        p_t, p_e, verdicts = stats.look(diffs, level, margin, resolution)
        current = Round(n)
        for i, pair in enumerate(open_pairs):
            d = decisions[pair]
            d.n, d.p_value, d.p_tost = n, float(p_t[i]), float(p_e[i])
            d.look, d.level = index + 1, level
            d.diff = float(stats.on_grid(diffs[i], resolution).mean())
            if verdicts[i] == stats.BETTER:
                d.verdict, d.winner = BETTER, pair[0] if d.diff > 0 else pair[1]
            elif verdicts[i] == stats.EQUIVALENT:
                d.verdict = EQUIVALENT
            elif index == len(points) - 1:
                d.verdict = UNRESOLVED
            if d.verdict == OPEN:
                current.still_open.append(pair)
            else:
                current.settled.append(d)
        rounds.append(current)
    return Replay(list(decisions.values()), rounds, {})


def model_names(configs: Sequence[RunConfig]) -> dict[str, str]:
    """A readable, unique name per model (a config minus its seed), keyed by
    :func:`model_key`: the architecture, plus what differs from same-named models."""
    fields = {}
    for config in configs:
        identity = {**config.identity(), "seed": None}
        flat = {k: v for k, v in identity.items() if k != "recipe"} | identity["recipe"]
        fields[model_key(config)] = flat
    by_base: dict[str, list[str]] = {}
    for key, flat in fields.items():
        base = flat["arch"] + ("" if flat["arch_kwargs"] == "{}" else flat["arch_kwargs"])
        by_base.setdefault(base, []).append(key)
    names = {}
    for base, keys in by_base.items():
        differing = [f for f in fields[keys[0]] if len({str(fields[k].get(f)) for k in keys}) > 1]
        for key in keys:
            parts = ", ".join(f"{f}={fields[key].get(f)}" for f in differing)
            names[key] = f"{base} ({parts})" if parts else base
    return names


def model_key(config: RunConfig) -> str:
    return json.dumps({**config.identity(), "seed": None}, sort_keys=True)


@dataclass
class AutoOutcome:
    study_id: str
    replay: Replay
    names: dict[str, str]  # model key -> name
    results: list[RunResult]
    stuck: dict[str, list[int]]  # seeds that were run but did not finish ok (rule stopped)
    unrecorded: sweep.SweepSummary | None = None  # a round whose runs the store could not take


def run_auto(
    configs: Sequence[RunConfig],
    store: ResultsStore,
    settings: Settings,
    *,
    suite: str | None = None,
    emit: EventSink | None = None,
    **run_options: Any,
) -> AutoOutcome:
    """Run ``configs`` (every model planned with seeds ``0..max_seeds-1``) adaptively: replay
    the rule on the stored results, train the seeds the next look needs (all of a round's
    seeds of a model go to the sweep together, so seed-parallel models train them as one
    group), and repeat until every pair is settled or ``max_seeds`` is reached. Progress goes
    to ``emit``: :class:`AdaptiveStarted`, per look :class:`RoundSettled`, per round trained
    :class:`RoundStarted` and its sweep's events."""
    from bench.sweep import sweep  # training: torch, which replaying the rule never needs

    emit = emit or drop
    by_model: dict[str, dict[int, RunConfig]] = {}
    for config in configs:
        by_model.setdefault(model_key(config), {})[config.seed] = config
    names = model_names(configs)
    planned = {
        names[key]: [seeds[s].run_id for s in sorted(seeds)] for key, seeds in by_model.items()
    }
    settings_dict = dataclasses.asdict(settings)
    study_id = hashlib.sha256(
        json.dumps([settings_dict, planned], sort_keys=True).encode()
    ).hexdigest()[:16]
    store.record_adaptive(study_id, suite, settings_dict, planned)
    emit(AdaptiveStarted(study_id, settings.describe()))
    results: list[RunResult] = []
    shown = 0
    previous: dict[str, list[int]] | None = None
    while True:
        values, sizes = stored_values(store, planned)
        current = replay(values, settings, n_test=sizes)
        for index, played in enumerate(current.rounds[shown:], start=shown + 1):
            emit(RoundSettled(index, played.n, round_text(index, played, settings.margin_pp)))
        shown = len(current.rounds)
        if current.complete or current.missing == previous:
            break
        previous = current.missing
        todo = [
            by_model[key][seed] for key in by_model for seed in current.missing.get(names[key], [])
        ]
        n = max(seed for seeds in current.missing.values() for seed in seeds) + 1
        added = tuple((model, len(seeds)) for model, seeds in current.missing.items())
        emit(RoundStarted(shown + 1, n, added))
        summary = sweep.run(todo, store, suite=suite, emit=emit, **run_options)
        results += summary.results
        if summary.unrecorded:  # kept in side files: the rule cannot go on without them
            return AutoOutcome(study_id, current, names, results, {}, summary)
    stuck = {} if current.complete else current.missing
    return AutoOutcome(study_id, current, names, results, stuck)


def stored_values(store: ResultsStore, planned: Mapping[str, list[str]]) -> tuple[dict, dict]:
    """Per model, per seed: the stored test accuracy of the planned runs that finished ok; and
    per model the size of the test set they were measured on (None while none finished)."""
    runs = store.runs()
    ok = runs[runs.status == "ok"].set_index("run_id")
    values = {
        name: {seed: float(ok.test_acc[rid]) for seed, rid in enumerate(ids) if rid in ok.index}
        for name, ids in planned.items()
    }
    return values, {name: test_size(ok, ids) for name, ids in planned.items()}


def test_size(ok_runs, run_ids: Sequence[str]) -> int | None:
    """The test set size of the first of ``run_ids`` in ``ok_runs`` (indexed by run id)."""
    if "n_test" not in ok_runs:
        return None
    sizes = [ok_runs.n_test[rid] for rid in run_ids if rid in ok_runs.index]
    sizes = [int(size) for size in sizes if size is not None and size == size]  # not NaN
    return sizes[0] if sizes else None


def round_text(index: int, played: Round, margin_pp: float) -> str:
    """One progress line: the pairs settled at this look, and those still open (at the last
    look, those left unresolved)."""
    settled = [d for d in played.settled if d.verdict != UNRESOLVED]
    left = [d for d in played.settled if d.verdict == UNRESOLVED]
    text = "; ".join(f"{d.a} vs {d.b}: {d.text(margin_pp)}" for d in settled) or "none"
    still = "; ".join(f"{a} vs {b}" for a, b in played.still_open) or "none"
    line = f"round {index} (n={played.n}): settled: {text}; still open: {still}"
    if left:
        line += "; unresolved at --max-seeds: " + "; ".join(f"{d.a} vs {d.b}" for d in left)
    return line
