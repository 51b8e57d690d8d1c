"""archbench's pytest plugin: accuracy as a test, asserted as a verdict over seeds.

The fixture ``archbench`` runs :mod:`bench.checks` underneath: seeded runs in a results
store, as many seeds as the question needs, and a verdict with a bounded error rate instead
of a threshold on one seed::

    def test_refactor_keeps_accuracy(archbench):
        archbench.assert_equivalent("./models.py:NewNet", "./models.py:OldNet", margin_pp=0.2,
                                    epochs=3, limit_train=2000, threads=1, max_seeds=8)

- ``archbench.assert_equivalent(model, baseline, margin_pp=0.1, **options)``,
  ``archbench.assert_not_worse(model, baseline, margin_pp=0.5, **options)`` (one-sided
  non-inferiority), ``archbench.assert_better(model, baseline, **options)``: each returns the
  :class:`bench.checks.Check` when it passes and fails the test with the report's pairwise
  line (difference, CI, p, verdict, seeds) and the rule when not. The rules: see
  :mod:`bench.checks`.
- ``model`` and ``baseline``: anything ``bench run --arch`` takes, ``archbench.arch(ARCH,
  **options)`` (options for that side only, e.g. ``threads=2``), or
  ``archbench.stored(RESULTS_DIR, MODEL)`` (a committed baseline store, read, never trained).
- ``options``: ``bench run``'s options under their :class:`bench.sweep.Study` names
  (``dataset``, ``recipe``, ``epochs``, ``limit_train``, ``val_size``, ``threads``, ...) and
  the seed bounds ``min_seeds`` and ``max_seeds``.

Command-line options: ``--archbench-results DIR`` keeps the runs in DIR and reuses them in
later sessions (a second ``pytest`` run replays the rule on the stored runs and trains
nothing); without it they go to the session's temporary directory (one shared by
pytest-xdist workers, whose shared runs are trained once: the store is checked again inside
archbench's machine-wide training slot). ``--archbench-max-seeds N`` caps every check's
``max_seeds``. Each check adds ``archbench_*`` properties to its test (as ``record_property``
does; ``--junitxml`` writes them), and the session ends with a line counting the checks and the runs
they trained.

pytest loads this module from the ``pytest11`` entry point of an installed archbench (named
``bench.pytest_plugin``, like the module, so that ``-p bench.pytest_plugin`` loads it once;
``-p no:bench.pytest_plugin`` turns it off). It imports the library only when a check runs,
so it costs a test session that uses no check nothing. It is a front end on top of every
step, beside :mod:`bench.api` and :mod:`bench.cli`; nothing in ``bench`` imports it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from bench.checks import Arch, Check, Stored

RESULTS_DIR_NAME = "archbench-results"


class Archbench:
    """The ``archbench`` fixture. ``results``: the store its checks train into;
    ``max_seeds_cap``: ``--archbench-max-seeds``; ``properties``: the test's
    ``user_properties``, where each check's are added (as ``record_property`` adds them, but
    without its warning under junit_family xunit2, where pytest writes them all the same)."""

    def __init__(
        self, results: Path, max_seeds_cap: int | None = None, properties: list | None = None
    ):
        self.results = Path(results)
        self.max_seeds_cap = max_seeds_cap
        self._properties = properties
        self.checks: list[Check] = []

    @staticmethod
    def arch(arch: Any, **options: Any) -> Arch:
        """``arch`` (anything ``bench run --arch`` takes) with options for this side only."""
        from bench.checks import Arch

        return Arch(arch, options)

    @staticmethod
    def stored(results: Path | str, model: str) -> Stored:
        """The runs of ``model`` (its name in ``bench report``) in the store ``results``."""
        from bench.checks import Stored

        return Stored(results, model)

    def assert_equivalent(
        self, model: Any, baseline: Any, margin_pp: float | None = None, **options: Any
    ) -> Check:
        """Fail unless the adaptive rule's TOST shows ``|model - baseline| < margin_pp``
        (default 0.1 pp)."""
        __tracebackhide__ = True
        return self._assert("equivalent", model, baseline, margin_pp, options)

    def assert_not_worse(
        self, model: Any, baseline: Any, margin_pp: float | None = None, **options: Any
    ) -> Check:
        """Fail unless ``model - baseline > -margin_pp`` (default 0.5 pp) is shown."""
        __tracebackhide__ = True
        return self._assert("not worse", model, baseline, margin_pp, options)

    def assert_better(self, model: Any, baseline: Any, **options: Any) -> Check:
        """Fail unless the adaptive rule finds ``model`` better (``margin_pp``: its
        equivalence margin, at which it stops as equivalent)."""
        __tracebackhide__ = True
        return self._assert("better", model, baseline, options.pop("margin_pp", None), options)

    def check(
        self, kind: str, model: Any, baseline: Any, margin_pp: float | None = None, **options
    ) -> Check:
        """The :class:`~bench.checks.Check` of ``kind`` (``equivalent``, ``not worse``,
        ``better``), passed or not, with its properties recorded; asserts nothing."""
        from bench import checks

        given = options.get("max_seeds")
        if self.max_seeds_cap is not None and (given is None or isinstance(given, int)):
            given = checks.adaptive.DEFAULT_MAX_SEEDS if given is None else given
            options["max_seeds"] = min(given, self.max_seeds_cap)
        check = checks.decide(
            kind, model, baseline, results=self.results, margin_pp=margin_pp, **options
        )
        self.checks.append(check)
        if self._properties is not None:
            self._properties.extend(check.properties())
        return check

    def _assert(self, kind, model, baseline, margin_pp, options) -> Check:
        __tracebackhide__ = True
        from bench.config import ArchbenchError

        try:
            check = self.check(kind, model, baseline, margin_pp, **options)
        except ArchbenchError as exc:  # a bad value or name: its one line, no traceback
            pytest.fail(f"archbench: {exc}", pytrace=False)
        if not check.passed:
            raise AssertionError(check.message())
        return check


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("archbench", "archbench accuracy checks (the archbench fixture)")
    group.addoption(
        "--archbench-results",
        metavar="DIR",
        default=None,
        help="results store of the archbench checks, kept between sessions: runs found there "
        "are reused, not trained again (default: a temporary directory of the session)",
    )
    group.addoption(
        "--archbench-max-seeds",
        metavar="N",
        type=int,
        default=None,
        help="at most N seeds per model in every archbench check (N >= 2)",
    )


def pytest_configure(config: pytest.Config) -> None:
    cap = config.getoption("archbench_max_seeds", None)
    if cap is not None and cap < 2:
        raise pytest.UsageError(
            f"--archbench-max-seeds must be >= 2 (one seed says nothing about noise), got {cap}"
        )
    config.pluginmanager.register(_Summary(config), "archbench-summary")


class _Summary:
    """Counts the checks and the runs they trained from the tests' properties (so that the
    reports of xdist workers count too), and says so at the end of the session."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.checks = self.trained = 0

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == "archbench_check":
                self.checks += 1
            elif name == "archbench_trained":
                self.trained += int(value)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.checks:
            return
        given = self.config.getoption("archbench_results", None)
        where = given or "a temporary directory (keep them with --archbench-results DIR)"
        terminalreporter.write_line(
            f"archbench: {self.checks} check(s), {self.trained} run(s) trained; runs in {where}"
        )


@pytest.fixture(scope="session")
def archbench_results(pytestconfig: pytest.Config, tmp_path_factory) -> Path:
    """The store of the session's archbench checks: ``--archbench-results DIR`` (relative to
    where pytest was started), else ``archbench-results`` in the session's temporary
    directory (under pytest-xdist, the one its workers share)."""
    given = pytestconfig.getoption("archbench_results")
    if given:
        return (pytestconfig.invocation_params.dir / given).resolve()
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # each xdist worker has a folder in the session's
    return base / RESULTS_DIR_NAME


@pytest.fixture
def archbench(request: pytest.FixtureRequest, archbench_results: Path) -> Archbench:
    """Accuracy checks that assert verdicts over seeds (see :mod:`bench.pytest_plugin`)."""
    cap = request.config.getoption("archbench_max_seeds")
    return Archbench(archbench_results, cap, request.node.user_properties)


def pytest_report_header(config: pytest.Config) -> str | None:
    given = config.getoption("archbench_results", None)
    return f"archbench: runs in {given}, kept between sessions" if given else None
