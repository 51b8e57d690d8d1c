"""The pytest plugin: the docs' example test runs under pytest-xdist with every run trained
once, fails the broken model with the report's pairwise line, carries the numbers in the
junit XML, and a second session with the same --archbench-results trains nothing; the
options and the entry point."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from bench.pytest_plugin import Archbench
from bench.store import load
from tests.test_checks import QUICK, IgnoresInput, first_look  # noqa: F401  (fixture)
from tests.usercode_helpers import clean_registries, registries_restored  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "test_accuracy.py"
BROKEN = "test_a_model_that_ignores_its_input_is_not_worse_than_mlp32"


# what pytest-xdist tells a worker (this test's own session may be one): a session started
# here is a session of its own
XDIST_WORKER = ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID")


def pytest_session(*args: str, env: dict, basetemp: Path) -> subprocess.CompletedProcess:
    """A pytest session in a subprocess, with the plugin loaded by name as docs/guides/pytest.md
    says for a checkout (the installed entry point has the same name, so both load it once)."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "bench.pytest_plugin",
        "-p",
        "no:cacheprovider",
    ]
    env = {name: value for name, value in env.items() if name not in XDIST_WORKER}
    return subprocess.run(
        [*command, "--basetemp", str(basetemp), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=env,
    )


def junit(path: Path) -> list[dict]:
    """Per test case: its name, its failure message (or None) and its properties."""
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        failure = case.find("failure")
        properties = [(p.get("name"), p.get("value")) for p in case.iter("property")]
        cases.append(
            {
                "name": case.get("name"),
                "failure": None if failure is None else failure.get("message"),
                "properties": dict(properties),
                "trained": [v for n, v in properties if n == "archbench_trained_runs" and v],
            }
        )
    return cases


def pytest_in_process(*args: str) -> subprocess.CompletedProcess:
    """A pytest session in this process (``pytest.main``), with the plugin loaded by name as
    :func:`pytest_session` loads it, answered as a subprocess would be: its exit status and
    what it printed. What the session leaves behind is undone: the architectures it
    registered (the example's ``IgnoresInput``), the example module it imported and the
    folder its import put on ``sys.path``."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    # in one process (`-n 0`: this project's pytest settings ask for xdist workers), and not
    # as the xdist worker this test may run in
    command = ["-p", "bench.pytest_plugin", "-p", "no:cacheprovider", "--capture=no", "-n", "0"]
    command += args
    path, modules = list(sys.path), set(sys.modules)
    try:
        with (
            pytest.MonkeyPatch.context() as patch,
            registries_restored(),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            for name in XDIST_WORKER:
                patch.delenv(name, raising=False)
            code = pytest.main(command)
    finally:
        sys.path[:] = path
        if "test_accuracy" not in modules:
            sys.modules.pop("test_accuracy", None)
    return subprocess.CompletedProcess(command, int(code), out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def two_sessions(tmp_path_factory, mnist_root, slot_root):
    """The docs' example twice on one store: first under xdist, each test on both workers
    (--dist each: every run is wanted by two processes at once) with --runxfail so that the
    broken model's check fails for real; then plainly, as a user runs it (a session of its
    own, in this process: it trains nothing)."""
    tmp = tmp_path_factory.mktemp("plugin")
    env = {**os.environ, "ARCHBENCH_DATA": str(mnist_root), "ARCHBENCH_SLOT_DIR": str(slot_root)}
    env.pop("ARCHBENCH_SLOT", None)
    store = tmp / "store"
    common = [str(EXAMPLE), "--archbench-results", str(store)]
    first = pytest_session(
        *common,
        "-n",
        "2",
        "--dist",
        "each",
        "--runxfail",
        "--junitxml",
        str(tmp / "first.xml"),
        env=env,
        basetemp=tmp / "t1",
    )
    runs_after_first = load(store).runs
    second = pytest_in_process(
        *common, "--junitxml", str(tmp / "second.xml"), "--basetemp", str(tmp / "t2")
    )
    return tmp, store, first, runs_after_first, second


@pytest.mark.slow  # two pytest sessions on MNIST, one under xdist
def test_under_xdist_each_run_is_trained_once_and_the_broken_model_fails(two_sessions):
    tmp, _, first, runs, _ = two_sessions
    assert first.returncode == 1, first.stdout[-3000:] + first.stderr[-3000:]
    cases = junit(tmp / "first.xml")
    assert Counter(case["name"] for case in cases) == Counter(
        {name: 2 for name in {case["name"] for case in cases}}
    )  # every test ran on both workers
    assert len(cases) == 8
    trained = [run for case in cases for runs_of in case["trained"] for run in runs_of.split(",")]
    assert sorted(trained) == sorted(set(trained)), "a run was trained twice"
    assert sorted(trained) == sorted(runs.run_id) and len(runs) == 12  # 4 models x 3 seeds
    assert set(runs.status) == {"ok"}
    assert "archbench: 8 check(s), 12 run(s) trained" in first.stdout

    failed = [case for case in cases if case["failure"] is not None]
    assert [case["name"] for case in failed] == [BROKEN, BROKEN]
    for case in failed:
        assert "worse by more than 0.5 pp" in case["failure"]
        assert case["properties"]["archbench_verdict"] == "worse by more than 0.5 pp"
    # the failure shows the report's pairwise line
    lines = [line for line in first.stdout.splitlines() if "| IgnoresInput" in line]
    assert lines, first.stdout[-3000:]
    cells = [cell.strip() for cell in lines[0].split("|")[1:-1]]
    assert cells[:2] == ["IgnoresInput", "mlp32"] and cells[-1] == "3"
    assert float(cells[2]) < -50 and cells[3].startswith("[-")
    assert "worse by more than 0.5 pp" in cells


@pytest.mark.slow  # two pytest sessions on MNIST, one under xdist
def test_the_failure_the_docs_show_is_the_one_pytest_prints(two_sessions):
    """docs/guides/pytest.md shows a failed check's message: its lines (numbers masked) are
    lines of the first session's output (pytest prefixes them with ``E``)."""
    from tests.test_docs import DOCS, blocks, check_output

    (shown,) = [b.body for b in blocks(DOCS / "guides/pytest.md") if b.lang == "text"]
    _, _, first, _, _ = two_sessions
    printed = "\n".join(re.sub(r"^E\s+", "", line) for line in first.stdout.splitlines())
    check_output(shown, printed, where="docs/guides/pytest.md")


@pytest.mark.slow  # two pytest sessions on MNIST, one under xdist
def test_the_examples_verdicts_and_numbers_in_the_junit_xml(two_sessions):
    tmp, *_ = two_sessions
    verdicts = {
        case["name"]: case["properties"]
        for case in junit(tmp / "first.xml")
        if case["failure"] is None
    }
    threads = verdicts["test_the_thread_count_does_not_change_accuracy"]
    assert threads["archbench_check"] == (
        "assert_equivalent(mlp32 (threads=2), mlp32 (threads=1), margin_pp=0.2)"
    )
    assert threads["archbench_verdict"] == "equivalent within ±0.2 pp"
    assert abs(float(threads["archbench_diff_pp"])) < 0.2
    slp = verdicts["test_mlp32_is_not_worse_than_slp"]
    assert slp["archbench_verdict"] == "not worse (A − B > −0.5 pp)"
    assert float(slp["archbench_ci_low_pp"]) > -0.5 and slp["archbench_passed"] == "true"
    assert (
        float(slp["archbench_p"])
        < float(slp["archbench_level"])
        == pytest.approx(0.05 / 3, rel=1e-5)
    )
    speed = verdicts["test_speed_and_accuracy_in_one_test"]  # beside pytest-benchmark
    assert speed["archbench_verdict"] == "mlp32 better" and speed["archbench_trained"] == "0"


@pytest.mark.slow  # two pytest sessions on MNIST, one under xdist
def test_a_second_session_with_the_same_results_trains_nothing(two_sessions):
    tmp, store, _, runs_before, second = two_sessions
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "3 passed, 1 xfailed" in second.stdout
    assert "archbench: 4 check(s), 0 run(s) trained" in second.stdout
    after = load(store).runs
    columns = ["run_id", "finished_at"]
    assert after.sort_values("run_id")[columns].values.tolist() == (
        runs_before.sort_values("run_id")[columns].values.tolist()
    )
    first = {c["name"]: c["properties"] for c in junit(tmp / "first.xml")}
    for case in junit(tmp / "second.xml"):
        if case["name"] != BROKEN:  # an xfail's properties are not written
            assert case["properties"]["archbench_trained"] == "0"
            assert (
                case["properties"]["archbench_diff_pp"] == first[case["name"]]["archbench_diff_pp"]
            )


@pytest.mark.slow
def test_the_options_and_a_bad_max_seeds(tmp_path, monkeypatch):
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    helped = pytest_in_process("--help", "--basetemp", str(tmp_path / "h"))
    assert "--archbench-results=DIR" in helped.stdout and "--archbench-max-seeds=N" in helped.stdout
    refused = pytest_in_process(
        "--basetemp", str(tmp_path / "b"), str(EXAMPLE), "--archbench-max-seeds", "1"
    )
    assert refused.returncode == 4
    assert "--archbench-max-seeds must be >= 2 (one seed says nothing about noise), got 1" in (
        refused.stderr
    )


@pytest.mark.usefixtures("clean_registries")
def test_the_fixture_caps_the_seeds_records_properties_and_fails_bad_input_in_one_line(
    first_look,  # noqa: F811  (the fixture imported above)
):
    *_, store = first_look  # IgnoresInput and slp, 3 seeds each
    properties: list = []
    fixture = Archbench(store, max_seeds_cap=3, properties=properties)
    with pytest.raises(AssertionError) as failed:
        fixture.assert_not_worse(IgnoresInput, "slp", max_seeds=8, **QUICK)
    assert "looks at n = 3, each at alpha 0.05/1 = 0.05" in str(failed.value)
    names = [name for name, _ in properties]
    assert names[:2] == ["archbench_check", "archbench_verdict"] and len(names) == 12
    assert dict(properties)["archbench_seeds"] == "3"
    with pytest.raises(pytest.fail.Exception, match=r"^archbench: unknown architecture"):
        fixture.assert_better("nosuchnet", "slp", **QUICK)
    checked = fixture.assert_better("slp", IgnoresInput, **QUICK)  # returns its check
    assert checked.passed and checked.trained == [] and len(fixture.checks) == 2


def test_the_entry_point_is_declared_under_the_modules_name():
    """pytest loads an installed archbench's plugin from this entry point. Its name is the
    module's, so that ``-p bench.pytest_plugin`` (a checkout, the docs, these tests) and
    the entry point register it once instead of failing as registered twice."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"bench.pytest_plugin": "bench.pytest_plugin"}
    assert "pytest-xdist" in " ".join(project["optional-dependencies"]["test"])


def test_loading_the_plugin_imports_no_library():
    """pytest loads the plugin in every session of a project where archbench is installed:
    torch, pandas and the library are imported only when a check runs."""
    probe = (
        "import sys, bench.pytest_plugin; "
        "print(sorted(m for m in ('torch', 'pandas', 'bench.api', 'bench.checks') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.stdout.strip() == "[]", done.stderr
