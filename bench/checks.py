"""Accuracy checks: does a model match, not fall behind, or beat a baseline? Decided as
verdicts over seeds with a bounded error rate, not as a threshold on one seed.

:func:`decide` answers one question for a pair of models, training only the seeds the answer
needs into a results store, and returns a :class:`Check` (passed or not, the numbers, the
report's pairwise line). The pytest plugin (:mod:`bench.pytest_plugin`) asserts on it; from
Python::

    >>> from bench import checks
    >>> check = checks.decide("not worse", "mlp32", "slp", margin_pp=0.5, results="results",
    ...                       epochs=3, limit_train=2000, val_size=0, threads=1, max_seeds=8)
    >>> check.passed, check.verdict, check.row()

The questions (``kind``):

- ``equivalent``: ``|model - baseline| < margin_pp`` is shown by the adaptive rule's TOST
  (:func:`bench.sweep.adaptive.replay`; also when a real difference smaller than the margin
  is shown besides). Not passed as ``unresolved after n seeds`` or ``BASELINE better``.
- ``not worse``: non-inferiority, ``model - baseline > -margin_pp`` is shown
  (:func:`replay_not_worse`, below). Not passed as ``worse by more than the margin`` or
  unresolved.
- ``better``: the adaptive rule's verdict is ``MODEL better``.

A side is anything ``bench run --arch`` takes (a registered name, a ``FILE.py:NAME`` or
``module:NAME`` reference, the class or factory itself), an :class:`Arch` (one of those with
options for that side only, e.g. another thread count), or a :class:`Stored` result set (a
results directory and the report's name of a model in it), whose runs are read and never
trained. Every other keyword is a ``bench run`` option under its :class:`bench.sweep.Study`
name (``dataset``, ``recipe``, ``epochs``, ``limit_train``, ``val_size``, ``threads``,
``arch_args``, ...).

**Seeds and the rule.** A side to train is planned with seeds 0, 1, 2, ... up to
``max_seeds`` (with a stored side: the seeds it holds, in order; with two, those both hold).
At the looks ``n = min_seeds, n + ceil(n/2), ..., max_seeds``
(:meth:`bench.sweep.adaptive.Settings.looks`) the rule is replayed on the stored per-seed
test accuracies, paired by seed, and only the seeds the next look needs are trained, through
:func:`bench.api.run` (recorded like ``bench run``'s, under the same run ids). Each look tests
at ``0.05 / K`` (K looks, fixed by the seed bounds: Bonferroni alpha-spending), so the chance
of a wrong passing verdict stays at most 5 % whichever look the comparison stops at. The
store is read again before each round, and :func:`bench.api.run` checks it once more inside
the machine-wide training slot (:mod:`bench.train.slot`): a run that another process (a
pytest-xdist worker) trained meanwhile is not trained twice. (``executor="ray"`` takes no
slot, Ray reserves CPUs instead: there, two processes can train the same run at once, and
the store keeps the first to finish.)

**Non-inferiority** (:func:`replay_not_worse`) runs in the same sequential design: the same
looks and per-look level, on the same paired differences ``d = model - baseline``. At each
look it tests H0 ``mean(d) <= -margin`` with the one-sided paired t-test (the lower half of
the rule's TOST): rejected, the verdict is ``not worse``. It stops for futility when H0'
``mean(d) >= -margin`` is rejected the same way (``worse``: the model is worse by more than
the margin), else it goes on to the next look; at ``max_seeds`` it is ``unresolved``. As in
the adaptive rule, the differences are first put on the test sets' grid (``1 / n_test``, from
each side's runs: :func:`bench.stats.grid_of`) and their spread is floored by one grid step
(:func:`bench.stats.paired`), so seeds that agree to the image are no certainty; where a side's
test-set size is unknown, a spread of zero gives no p-value and no verdict at that look. A wrong
``not worse`` needs a rejection at some look while ``mean(d) <= -margin``: at most
``K * 0.05 / K = 5 %`` (stopping for futility only removes chances to pass).
``tests/test_checks.py`` checks that rate by simulating this replay. One test per look and
one pair: there is no family for Holm's correction.

Layering: on top of every step, beside :mod:`bench.api` (which it uses to train); only
:mod:`bench.pytest_plugin` imports it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from scipy import stats as sps

from bench import api, stats
from bench.config import RunConfig, UsageError
from bench.report.markdown import NOTHING, markdown_table, p_text
from bench.report.variants import with_variants
from bench.store import DB_NAME, ResultsStore, load
from bench.sweep import Study, adaptive

EQUIVALENT, NOT_WORSE, BETTER = "equivalent", "not worse", "better"
KINDS = (EQUIVALENT, NOT_WORSE, BETTER)
WORSE = "worse"  # the verdict of replay_not_worse that fails a not-worse check
DEFAULT_MARGIN_PP = {
    EQUIVALENT: adaptive.DEFAULT_MARGIN_PP,
    NOT_WORSE: 0.5,
    BETTER: adaptive.DEFAULT_MARGIN_PP,
}
MODEL, BASELINE = "model", "baseline"
# Study fields a check does not take as an option: the check sets them itself
NOT_OPTIONS = frozenset(
    {"archs", "suite", "suite_file", "exclude", "seeds", "results", "force", "no_wait"}
    | {"min_seeds", "max_seeds", "margin"}
)


@functools.cache
def options_known() -> frozenset[str]:
    """The options a check takes: the :class:`bench.sweep.Study` fields it does not set."""
    return frozenset(f.name for f in dataclasses.fields(Study)) - NOT_OPTIONS


def check_options(given: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``given`` as a dict; an unknown name raises TypeError, as a Python call would."""
    unknown = sorted(set(given) - options_known())
    if unknown:
        hint = " (a check's seeds are min_seeds and max_seeds)" if "seeds" in unknown else ""
        raise TypeError(
            f"{where} got an unexpected keyword argument {unknown[0]!r}{hint}; the options "
            f"are bench run's: {', '.join(sorted(options_known()))}"
        )
    return dict(given)


@dataclass(frozen=True)
class Arch:
    """A model to train: ``arch`` as ``bench run --arch`` takes it (a name, a reference, a
    class or factory), with ``options`` for this side only (``threads=2``,
    ``arch_args={"hidden": [64]}``, ``dataset="./other.npz"``, ...), over the check's."""

    arch: Any
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", check_options(self.options, "Arch()"))


@dataclass(frozen=True)
class Stored:
    """A model already in a results store: ``results``, the directory ``bench run
    --results`` wrote, and ``model``, the model's name as ``bench report`` shows it
    (``mlp32``, or ``cnn (epochs=1)`` where the store holds several variants of cnn). Its
    runs that finished ok are read, never trained."""

    results: Path | str
    model: str


@dataclass
class Check:
    """One check's outcome: the question (``kind``), the models' names, the rule's
    ``decision``, the ``verdict`` in words, whether it ``passed``, the difference of mean test
    accuracy ``model - baseline`` (a fraction) with its 95 % t interval over the seeds the
    decision rests on, the p of the test that settled the verdict (while unresolved, of the
    check's own test) against ``level`` (the rule's per-look level; Holm-adjusted within the
    look for the adaptive rule's tests), the rule in words, and the runs trained for it
    now."""

    kind: str
    model: str
    baseline: str
    margin_pp: float
    decision: adaptive.PairDecision
    verdict: str
    passed: bool
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    level: float
    rule: str
    trained: list[str] = field(default_factory=list)
    store: Path | None = None

    @property
    def n(self) -> int:
        """The seeds the verdict rests on (per side, paired)."""
        return self.decision.n

    def call(self) -> str:
        margin = "" if self.kind == BETTER else f", margin_pp={self.margin_pp:g}"
        return f"assert_{self.kind.replace(' ', '_')}({self.model}, {self.baseline}{margin})"

    def row(self) -> str:
        """The report's pairwise line (with its header): A is the model, B the baseline."""
        ci = (
            NOTHING
            if math.isnan(self.ci_low)
            else f"[{self.ci_low * 100:+.2f}, {self.ci_high * 100:+.2f}]"
        )
        frame = pd.DataFrame(
            [
                {
                    "A": self.model,
                    "B": self.baseline,
                    "Accuracy A − B (pp)": _pp(self.diff, "+.2f"),
                    "95 % CI (pp)": ci,
                    "Test": stats.PAIRED,
                    "p": p_text(self.p_value),
                    "Verdict": self.verdict,
                    "Seeds": str(self.n),
                }
            ]
        )
        return markdown_table(frame, left=("A", "B", "95 % CI (pp)", "Test", "Verdict"))

    def message(self) -> str:
        """What a failed assertion says: the check and its verdict, the pairwise line, the
        rule and its levels, and where the runs are."""
        where = f"\nruns in {self.store}" if self.store else ""
        return (
            f"archbench: {self.call()} failed: {self.verdict}\n{self.row()}\n"
            f"rule: {self.rule}; p: the test that settled the verdict (while unresolved, the "
            f"check's own), against {self.level:.4g} at each look{where}"
        )

    def properties(self) -> list[tuple[str, str]]:
        """Name and value pairs for ``record_property`` (numbers in percentage points)."""
        return [
            ("archbench_check", self.call()),
            ("archbench_verdict", self.verdict),
            ("archbench_passed", str(self.passed).lower()),
            ("archbench_diff_pp", _pp(self.diff, ".4f")),
            ("archbench_ci_low_pp", _pp(self.ci_low, ".4f")),
            ("archbench_ci_high_pp", _pp(self.ci_high, ".4f")),
            ("archbench_p", f"{self.p_value:.6g}"),
            ("archbench_level", f"{self.level:.6g}"),
            ("archbench_margin_pp", f"{self.margin_pp:g}"),
            ("archbench_seeds", str(self.n)),
            ("archbench_trained", str(len(self.trained))),
            ("archbench_trained_runs", ",".join(self.trained)),
        ]


def _pp(value: float, fmt: str) -> str:
    return NOTHING if math.isnan(value) else format(value * 100, fmt)


# The rule of a not-worse check ----------------------------------------------------------------


def one_sided_p_values(
    differences: Sequence[float], margin: float, resolution: float | None = None
) -> tuple[float, float]:
    """The one-sided paired t-tests at ``-margin`` (a fraction) of ``differences`` on the grid
    of ``resolution`` (their standard deviation at least one grid step, as in
    :func:`bench.stats.tost_p_value`, whose lower half the first is): the p of H0 ``mean <=
    -margin`` (small: not worse) and the p of H0 ``mean >= -margin`` (small: worse by more
    than the margin). nan below two values, or with no spread and no grid (no claim)."""
    mean, se, df = stats.paired(differences, resolution)
    if not df > 0 or not se > 0:
        return math.nan, math.nan
    t = (mean + margin) / se
    return float(sps.t.sf(t, df)), float(sps.t.cdf(t, df))


def replay_not_worse(
    values: Mapping[str, Mapping[int, float]],
    settings: adaptive.Settings,
    seed_order: Sequence[int] | None = None,
    n_test: int | Mapping[str, int | None] | None = None,
) -> adaptive.Replay:
    """Non-inferiority of the first model of ``values`` against the second, replayed on their
    per-seed values as :func:`bench.sweep.adaptive.replay` replays its rule: the same looks,
    seeds taken in ``seed_order`` (default 0, 1, 2, ...), level ``settings.alpha_per_look``
    at each look, margin ``settings.margin_pp``, differences on the grid of the test sets'
    sizes ``n_test`` (one for both, or per model; None: no grid). Its one
    :class:`~bench.sweep.adaptive.PairDecision` has the verdict ``not worse``, ``worse``
    (winner: the second model), ``unresolved`` or ``open`` (seeds missing, listed in
    ``missing``); ``p_tost`` is the not-worse test's p, ``p_value`` the worse test's."""
    order = list(seed_order) if seed_order is not None else list(range(settings.max_seeds))
    a, b = list(values)[:2]
    sizes = n_test if isinstance(n_test, Mapping) else dict.fromkeys((a, b), n_test)
    resolution = stats.grid_of(sizes.get(a), sizes.get(b))
    decision = adaptive.PairDecision(a, b, adaptive.OPEN)
    margin = settings.margin_pp / 100
    points = settings.looks()
    rounds: list[adaptive.Round] = []
    for look, n in enumerate(points):
        seeds = order[:n]
        decision.n = n
        missing = {m: [s for s in seeds if s not in values[m]] for m in (a, b)}
        missing = {m: s for m, s in missing.items() if s}
        if missing:
            return adaptive.Replay([decision], rounds, missing)
        diffs = stats.on_grid([values[a][s] - values[b][s] for s in seeds], resolution)
        decision.diff = float(diffs.mean())
        decision.p_tost, decision.p_value = one_sided_p_values(diffs, margin, resolution)
        if decision.p_tost < settings.alpha_per_look:
            decision.verdict = NOT_WORSE
        elif decision.p_value < settings.alpha_per_look:
            decision.verdict, decision.winner = WORSE, b
        elif look == len(points) - 1:
            decision.verdict = adaptive.UNRESOLVED
        current = adaptive.Round(n)
        if decision.verdict == adaptive.OPEN:
            current.still_open.append((a, b))
        else:
            current.settled.append(decision)
        rounds.append(current)
        if decision.verdict != adaptive.OPEN:
            break
    return adaptive.Replay([decision], rounds, {})


def describe_not_worse(settings: adaptive.Settings) -> str:
    k = len(settings.looks())
    return (
        f"non-inferiority: one-sided paired t-test of A − B > −{settings.margin_pp:g} pp (the "
        f"lower half of TOST), stopping as worse when A − B < −{settings.margin_pp:g} pp is "
        f"shown; looks at n = {', '.join(map(str, settings.looks()))}, each at alpha "
        f"{settings.alpha:g}/{k} = {settings.alpha_per_look:.4g} (Bonferroni alpha-spending); "
        "per-seed differences on the test set's grid"
    )


# The sides of a check -------------------------------------------------------------------------


@dataclass
class _Trained:
    """A side the check trains: its options and its planned run per seed."""

    arch: Any
    options: dict[str, Any]
    configs: dict[int, RunConfig]

    def values(self, ok: pd.DataFrame) -> dict[int, float]:
        """Per seed, the test accuracy of its planned runs among ``ok`` (the working store's
        runs that finished ok, by run id)."""
        return {
            s: float(ok.test_acc[c.run_id]) for s, c in self.configs.items() if c.run_id in ok.index
        }

    def n_test(self, ok: pd.DataFrame) -> int | None:
        """The size of the test set its runs among ``ok`` were measured on (None: none yet)."""
        return adaptive.test_size(ok, [c.run_id for c in self.configs.values()])


@dataclass
class _Read:
    """A stored side: its per-seed test accuracies and their test set's size, read once."""

    name: str
    stored: dict[int, float]
    size: int | None = None

    def values(self, ok: pd.DataFrame) -> dict[int, float]:
        return self.stored

    def n_test(self, ok: pd.DataFrame) -> int | None:
        return self.size


def stored_values(spec: Stored) -> dict[int, float]:
    """Per seed, the test accuracy of ``spec``'s runs that finished ok (a seed recorded twice
    with settings that change only rounding: the run that finished last, as the report)."""
    return _read(spec).stored


def _read(spec: Stored) -> _Read:
    """``spec``'s per-seed test accuracies (:func:`stored_values`) and the size of the test
    set they were measured on (None where the store does not say)."""
    directory = Path(spec.results)
    if not (directory / DB_NAME).is_file():
        raise UsageError(
            f"no results store in {directory} (no {DB_NAME}): give the directory that "
            "`bench run --results DIR` wrote"
        )
    runs = load(directory).runs
    runs = with_variants(runs[runs.status == "ok"])
    names = list(dict.fromkeys(runs.model))
    if spec.model not in names:
        found = ", ".join(repr(name) for name in names) or "none"
        raise UsageError(
            f"{directory} holds no model {spec.model!r} with runs that finished ok; its "
            f"models, as bench report names them: {found}"
        )
    mine = runs[runs.model == spec.model]
    values = {int(s): float(v) for s, v in zip(mine.seed, mine.test_acc, strict=True)}
    by_id = mine.set_index("run_id")
    return _Read(spec.model, values, adaptive.test_size(by_id, list(by_id.index)))


def _plan(arch: Any, options: dict[str, Any], seeds: Sequence[int], store: Path) -> _Trained:
    study = Study(archs=(arch,), seeds=tuple(seeds), results=store, **options)
    configs = study.plan().configs
    keys = {adaptive.model_key(c) for c in configs}
    if len(keys) != 1:
        models = ", ".join(sorted(set(adaptive.model_names(configs).values())))
        raise UsageError(
            f"a side of a check is one model; {arch!r} gives {len(keys)} ({models}): name one "
            "architecture, on one device"
        )
    return _Trained(arch, options, {c.seed: c for c in configs})


def _side(spec: Any, options: dict[str, Any]) -> Stored | tuple[Any, dict[str, Any]]:
    if isinstance(spec, Stored):
        return spec
    if isinstance(spec, Arch):
        return spec.arch, {**options, **spec.options}
    return spec, dict(options)


def _names(sides: dict[str, _Trained | _Read]) -> dict[str, str]:
    """Readable names: the adaptive rule's for trained sides (the architecture and what
    differs between same-named models), ``NAME (stored)`` for a stored one."""
    trained = {k: s for k, s in sides.items() if isinstance(s, _Trained)}
    configs = {k: next(iter(s.configs.values())) for k, s in trained.items()}
    by_key = adaptive.model_names(list(configs.values()))
    if len(trained) == 2 and len(by_key) == 1:
        raise UsageError(
            f"model and baseline are the same runs ({next(iter(by_key.values()))}): compare "
            "two models, or one under different options (Arch(NAME, threads=2))"
        )
    names = {k: by_key[adaptive.model_key(c)] for k, c in configs.items()}
    names |= {k: f"{s.name} (stored)" for k, s in sides.items() if isinstance(s, _Read)}
    if names[MODEL] == names[BASELINE]:
        names = {MODEL: f"{names[MODEL]} (model)", BASELINE: f"{names[BASELINE]} (baseline)"}
    return names


def _ok_runs(store: Path) -> pd.DataFrame:
    """The store's runs that finished ok (their test accuracy and test set size), by run id."""
    if not (store / DB_NAME).is_file():
        return pd.DataFrame({"test_acc": [], "n_test": []}, index=pd.Index([], name="run_id"))
    runs = ResultsStore(store, readonly=True).runs()
    return runs[runs.status == "ok"].set_index("run_id")


# The decision -------------------------------------------------------------------------------


def settings_for(
    kind: str, margin_pp: float | None, min_seeds: int | None, max_seeds: int, seeds: int
) -> adaptive.Settings:
    """The rule's settings for a check: ``max_seeds`` capped at the ``seeds`` there are (a
    stored side's), ``min_seeds`` at that (so at most ``max_seeds``); bad values raise
    UsageError."""
    margin = DEFAULT_MARGIN_PP[kind] if margin_pp is None else margin_pp
    if isinstance(margin, bool) or not isinstance(margin, int | float) or not math.isfinite(margin):
        raise UsageError(f"margin_pp must be a finite number, got {margin!r}")
    if margin < 0 or (margin == 0 and kind != NOT_WORSE):
        raise UsageError(
            f"margin_pp must be {'>= 0' if kind == NOT_WORSE else '> 0'} (percentage "
            f"points), got {margin:g}"
        )
    low = adaptive.DEFAULT_MIN_SEEDS if min_seeds is None else min_seeds
    for name, value in (("min_seeds", low), ("max_seeds", max_seeds)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"{name} must be an integer, got {value!r}")
        if value < 2:
            raise UsageError(
                f"{name} must be >= 2 (one seed says nothing about noise), got {value}"
            )
    high = min(max_seeds, seeds)
    return adaptive.Settings(min(low, high), high, float(margin))


def decide(
    kind: str,
    model: Any,
    baseline: Any,
    *,
    results: Path | str,
    margin_pp: float | None = None,
    min_seeds: int | None = None,
    max_seeds: int | None = None,
    **options: Any,
) -> Check:
    """Decide ``kind`` (``equivalent``, ``not worse`` or ``better``) for ``model`` against
    ``baseline`` (see the module docstring), training the seeds the rule needs into the store
    ``results``. ``margin_pp``: the margin in percentage points (default 0.1, the adaptive
    rule's; 0.5 for ``not worse``); ``min_seeds``, ``max_seeds``: the seed bounds (default 3
    and 20, the rule's). An invalid value raises UsageError (an unknown keyword TypeError)
    before anything is trained."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, not {kind!r}")
    options = check_options(options, f"a {kind} check")
    store = Path(results)
    high = adaptive.DEFAULT_MAX_SEEDS if max_seeds is None else max_seeds
    settings = settings_for(kind, margin_pp, min_seeds, high, high)  # checked before any work
    specs = {MODEL: _side(model, options), BASELINE: _side(baseline, options)}
    sides: dict[str, _Trained | _Read] = {
        key: _read(spec) for key, spec in specs.items() if isinstance(spec, Stored)
    }
    order = list(range(high))
    if sides:
        shared = set.intersection(*(set(side.stored) for side in sides.values()))
        order = sorted(shared)[: len(order)]
    if sides and len(order) < 2:
        names = " and ".join(f"{side.name!r}" for side in sides.values())
        raise UsageError(
            f"{names}: {len(order)} seed(s) that finished ok "
            f"{'in both stores ' if len(sides) == 2 else ''}within max_seeds; a verdict "
            "needs at least 2"
        )
    if sides:
        settings = settings_for(kind, margin_pp, min_seeds, high, len(order))
    for key, spec in specs.items():
        if key not in sides:
            arch, side_options = spec
            sides[key] = _plan(arch, side_options, order, store)
    names = _names(sides)
    rule = replay_not_worse if kind == NOT_WORSE else adaptive.replay
    trained: list[str] = []
    previous = None
    while True:
        ok = _ok_runs(store)
        values = {key: sides[key].values(ok) for key in (MODEL, BASELINE)}
        sizes = {key: sides[key].n_test(ok) for key in (MODEL, BASELINE)}
        replayed = rule(values, settings, order, n_test=sizes)
        if replayed.complete or replayed.missing == previous:
            break
        previous = replayed.missing
        for key, seeds in replayed.missing.items():
            side = sides[key]
            assert isinstance(side, _Trained)  # a stored side is only asked for seeds it holds
            outcome = api.run(archs=[side.arch], seeds=seeds, results=store, **side.options)
            trained += [result.run_id for result in outcome.results]
    resolution = stats.grid_of(*sizes.values())
    check = _check(
        kind, names, replayed.pairs[0], values, order, settings, resolution, trained, store
    )
    if not replayed.complete:
        check.verdict = _stuck(replayed.missing, sides, names, store)
    return check


def _stuck(missing: Mapping[str, list[int]], sides, names, store: Path) -> str:
    """Why the rule could not go on: seeds it needs ran and did not finish ok."""
    runs = ResultsStore(store, readonly=True).runs().set_index("run_id")
    parts = []
    for key, seeds in missing.items():
        for seed in seeds[:3]:
            run_id = sides[key].configs[seed].run_id
            status, message = "not recorded", ""
            if run_id in runs.index:
                status, message = runs.status[run_id], runs.message[run_id]
                message = message if isinstance(message, str) else ""  # NULL: None or NaN
            parts.append(
                f"{names[key]} seed {seed}: {status}" + (f" ({message})" if message else "")
            )
    return "stopped: runs did not finish ok: " + "; ".join(parts)


def _check(kind, names, decision, values, order, settings, resolution, trained, store) -> Check:
    """The check's outcome from the rule's ``decision``; the difference and its interval on the
    seeds the decision rests on, on the grid of ``resolution`` (None: no grid)."""
    seeds = [s for s in order[: decision.n] if s in values[MODEL] and s in values[BASELINE]]
    difference = stats.difference(
        {s: values[MODEL][s] for s in seeds}, {s: values[BASELINE][s] for s in seeds}, resolution
    )
    level, margin, verdict = settings.alpha_per_look, settings.margin_pp, decision.verdict
    winner = names.get(decision.winner, "")
    within = decision.p_tost < level
    if kind == NOT_WORSE:
        rule, passed = describe_not_worse(settings), verdict == NOT_WORSE
        text = {
            NOT_WORSE: f"not worse (A − B > −{margin:g} pp)",
            WORSE: f"worse by more than {margin:g} pp",
        }.get(verdict)
    else:
        rule = f"the adaptive rule (bench/sweep/adaptive.py): {settings.describe()}"
        if kind == EQUIVALENT:
            passed = verdict == adaptive.EQUIVALENT or (verdict == adaptive.BETTER and within)
        else:
            passed = verdict == adaptive.BETTER and decision.winner == MODEL
        text = {
            adaptive.BETTER: f"{winner} better" + (f", within ±{margin:g} pp" if within else ""),
            adaptive.EQUIVALENT: f"equivalent within ±{margin:g} pp",
        }.get(verdict)
    # p: the test that settled the verdict; while unresolved, the check's own test
    by_t = verdict in (adaptive.BETTER, WORSE) or (verdict not in KINDS and kind == BETTER)
    p_value = decision.p_value if by_t else decision.p_tost
    if text is None:
        text = f"unresolved after {decision.n} seeds"
    return Check(
        kind=kind,
        model=names[MODEL],
        baseline=names[BASELINE],
        margin_pp=margin,
        decision=decision,
        verdict=text,
        passed=passed,
        diff=difference.diff,
        ci_low=difference.ci_low,
        ci_high=difference.ci_high,
        p_value=p_value,
        level=level,
        rule=rule,
        trained=trained,
        store=store,
    )
