"""The documentation site (docs/, mkdocs.yml) stays true: it builds with --strict, its generated
reference covers the code, and every code block in it is run.

- ``bash`` blocks: every command is checked: ``bench ...`` against the real argparse parser (an
  option or value that does not exist fails), ``nox -s NAME`` against the noxfile's sessions,
  ``bash``/``python`` scripts and modules for existence. The tutorials' commands run for real,
  in order, in a fresh directory on slices of the real MNIST (``test_the_own_model_tutorial``,
  ``test_the_recap_tutorial``), in this process, each command and script as a new process
  would run it (``tests.usercode_helpers.user_shell``). Their reports are read for their text
  and figure files, the figures written as placeholders (tests/report/rendering.py): the same
  figures are drawn by the tests about figures and by the session's shared MNIST store.
- ``python`` blocks run as written (those with a ``title`` are files a tutorial writes; a block
  whose body is ``...`` is a fragment and only compiled), in a directory whose ``results/``
  holds the fixture store made members of ``mlp-vs-cnn``. A block titled with a file of this
  repository (``docs/examples/test_accuracy.py``) is that file, as it is (the file's own tests
  run it).
- ``toml`` blocks are parsed; study files among them are loaded as ``--suite-file`` loads them.
- ``text`` blocks after a command are its output: the lines shown (``...`` skips some) must be
  lines the command prints, numbers, run ids and timing verdicts masked (times and the last
  digits of accuracies depend on the machine); ``bench list`` output exactly. The one output
  outside the tutorials, a failed accuracy check in ``guides/pytest.md``, is checked against
  the failure pytest prints (tests/test_pytest_plugin.py).
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import itertools
import logging
import os
import re
import shlex
import shutil
import sqlite3
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.cli.main import build_parser
from tests.report.rendering import figures_not_drawn
from tests.usercode_helpers import UserShell, user_shell

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```[ \t]*$", flags=re.M | re.S)
GENERATED = DOCS / "example-report" / "report.md"  # bench report's output, not an example


@dataclass
class Block:
    page: str
    lang: str
    title: str | None
    body: str


def blocks(path: Path) -> list[Block]:
    found = []
    for match in FENCE.finditer(path.read_text()):
        title = re.search(r'title="([^"]+)"', match[2])
        page = path.relative_to(DOCS).as_posix()
        found.append(Block(page, match[1], title and title[1], match[3]))
    return found


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def all_blocks(lang: str) -> list[Block]:
    return [block for page in pages() for block in blocks(page) if block.lang == lang]


def commands(script: str) -> list[list[str]]:
    """The commands of a bash block: one per line or per ``&&``/``;``, comments dropped."""
    found = []
    for line in script.splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        for part in re.split(r"&&|;", line):
            if part.strip():
                found.append(shlex.split(part))
    return found


def bench_args(command: list[str]) -> list[str] | None:
    """The arguments of a ``bench`` command (``bench``, ``.venv/bin/bench``), else None."""
    return command[1:] if Path(command[0]).name == "bench" else None


def nox_sessions() -> set[str]:
    """The sessions the noxfile defines (their ``name=``, else the function's name)."""
    names = set()
    for node in ast.parse((ROOT / "noxfile.py").read_text()).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for deco in node.decorator_list:
            call = deco if isinstance(deco, ast.Call) else None
            target = call.func if call else deco
            if isinstance(target, ast.Attribute) and target.attr == "session":
                given = [k.value.value for k in (call.keywords if call else []) if k.arg == "name"]
                names.add(given[0] if given else node.name)
    return names


class ParseError(Exception):
    pass


def parse_bench(args: list[str]) -> argparse.Namespace:
    """``args`` parsed by the real parser; ParseError with argparse's message if it refuses."""
    parser = build_parser()

    def refuse(message: str):
        raise ParseError(message)

    for sub in [parser, *_subparsers(parser)]:
        sub.error = refuse
    return parser.parse_args(args)


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += [sub, *_subparsers(sub)]
    return found


def check_command(command: list[str]) -> None:
    """Fail unless ``command`` is one this project can run as written."""
    program = Path(command[0]).name
    if bench_args(command) is not None:
        parse_bench(bench_args(command))
    elif program == "nox":
        given = command[command.index("-s") + 1] if "-s" in command else None
        session = given.split("(")[0] if given else None
        assert session is None or session in nox_sessions(), f"no nox session {session!r}"
    elif program == "bash":
        assert (ROOT / command[1]).is_file(), f"no script {command[1]}"
    elif program.startswith("python"):
        if command[1] == "-m":
            assert importlib.util.find_spec(command[2]), f"no module {command[2]}"
        else:
            assert (ROOT / command[1]).is_file(), f"no script {command[1]}"
    else:
        # commands of other tools the docs show as they are: Ray's cluster, pip, a shell step
        tools = {"ray", "pip", "cd", "mkdocs", "mlflow", "tensorboard"}
        assert program in tools, f"unchecked command {command}"


# ---------------------------------------------------------------------------------------------
# every block, checked without training


def test_docs_have_the_code_blocks_this_test_checks():
    langs = {block.lang for page in pages() for block in blocks(page)}
    assert langs <= {"bash", "python", "toml", "text"}, f"unchecked block kinds: {langs}"
    assert len(all_blocks("bash")) >= 15 and len(all_blocks("python")) >= 8


@pytest.mark.parametrize(
    "block", all_blocks("bash"), ids=lambda b: f"{b.page}:{b.body.splitlines()[0][:40]}"
)
def test_every_command_in_the_docs_exists_as_written(block):
    for command in commands(block.body):
        try:
            check_command(command)
        except ParseError as exc:
            pytest.fail(f"{block.page}: `{shlex.join(command)}`: {exc}")


def test_a_command_that_does_not_exist_is_caught():
    with pytest.raises(ParseError, match="--no-such-option"):
        check_command(["bench", "run", "--suite", "mlp-vs-cnn", "--no-such-option"])
    with pytest.raises(ParseError, match="invalid choice"):
        check_command(["bench", "results", "--format", "yaml"])
    with pytest.raises(AssertionError, match="no nox session"):
        check_command(["nox", "-s", "no-such-session"])


def fixture_results(tmp_path: Path) -> Path:
    """``tmp_path/results``: the fixture store, its runs members of ``mlp-vs-cnn``, reported."""
    results = tmp_path / "results"
    shutil.copytree(ROOT / "tests/fixtures/store-v0.1", results)
    with sqlite3.connect(results / "archbench.sqlite") as conn:
        conn.executemany(
            "INSERT INTO suite_runs (suite, run_id, step) VALUES ('mlp-vs-cnn', ?, 'main')",
            conn.execute("SELECT run_id FROM runs").fetchall(),
        )
    from bench.report import write_report

    write_report(results, say=None)
    return results


def is_fragment(body: str) -> bool:
    return bool(re.search(r":\s*\.\.\.\s*$", body, flags=re.M))


def is_repository_file(block: Block) -> bool:
    """A block titled with the path of a file of this repository's docs (shown as it is, not
    written by a tutorial like ``models.py`` or ``pyproject.toml``)."""
    return block.title is not None and block.title.startswith("docs/")


def test_a_block_titled_with_a_file_of_the_repository_is_that_file():
    shown = [block for page in pages() for block in blocks(page) if is_repository_file(block)]
    assert [block.title for block in shown] == ["docs/examples/test_accuracy.py"]
    for block in shown:
        assert block.body == (ROOT / block.title).read_text(), f"{block.page}: {block.title}"


def test_every_output_outside_the_tutorials_is_checked():
    """``text`` blocks outside the tutorials (played by the tutorial tests) and the generated
    report: only the one tests/test_pytest_plugin.py checks."""
    outside = [
        block.page
        for page in pages()
        if page != GENERATED
        for block in blocks(page)
        if block.lang == "text" and not block.page.startswith("tutorials/")
    ]
    assert outside == ["guides/pytest.md"]


@pytest.mark.slow
def test_every_python_example_runs(tmp_path, monkeypatch):
    """The python blocks of every page but the own-model tutorial (its blocks need its files and
    run in test_the_own_model_tutorial), as written, where ``results/`` holds a store."""
    fixture_results(tmp_path)
    monkeypatch.chdir(tmp_path)
    ran = 0
    for block in all_blocks("python"):
        code = compile(block.body, block.page, "exec")
        if block.page == "tutorials/own-model.md" or is_fragment(block.body):
            continue
        if is_repository_file(block):
            continue
        exec(code, {})
        ran += 1
    assert ran >= 3


def test_every_toml_block_parses_and_study_files_load(tmp_path):
    """Study files (blocks with ``archs``) are read as ``bench run --suite-file`` reads them
    (every key and value checked, architecture files imported), beside the own-model
    tutorial's model and plugin (reading registers the architectures: undone after)."""
    for name in ("models.py", "mynets.py"):
        (tmp_path / name).write_text(_own_model_block(name).body)
    studies = []
    for number, block in enumerate(all_blocks("toml")):
        if "archs" in tomllib.loads(block.body):
            (tmp_path / f"study{number}.toml").write_text(block.body)
            studies.append(f"study{number}.toml")
    assert len(studies) >= 2
    script = (
        "import tomllib, mynets\nfrom pathlib import Path\nfrom bench.sweep import suites\n"
        f"for path in map(Path, {studies!r}):\n"
        "    suites.from_toml(tomllib.loads(path.read_text()), path, str(path.resolve()))\n"
    )
    with user_shell(tmp_path) as shell:
        shell.python(script)


# ---------------------------------------------------------------------------------------------
# outputs


def shape(line: str) -> str:
    """A printed line with what varies from machine to machine masked."""
    line = re.sub(r"\b[0-9a-f]{16}\b", "<id>", line)
    line = re.sub(r"[-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?", "<n>", line)
    line = re.sub(r"\b(clean|contended)\b", "<timing>", line)
    line = re.sub(r"-{2,}", "--", line)  # table rules, as wide as the numbers in them
    return " ".join(line.split())


def check_output(shown: str, actual: str, *, exact: bool = False, where: str = "") -> None:
    """Every line of ``shown`` but ``...`` is a line of ``actual`` (masked unless ``exact``)."""
    norm = (lambda s: s.rstrip()) if exact else shape
    printed = {norm(line) for line in actual.splitlines()}
    missing = [
        line for line in shown.splitlines() if line.strip() != "..." and norm(line) not in printed
    ]
    assert not missing, (
        f"{where}: shown but not printed:\n" + "\n".join(missing) + ("\n--- printed:\n" + actual)
    )


def test_output_check_catches_a_line_the_command_does_not_print():
    check_output("[3/4] cnn seed=0: ok: test_acc 76.85 %", "[1/9] cnn seed=1: ok: test_acc 1.00 %")
    with pytest.raises(AssertionError, match="shown but not printed"):
        check_output("cnn seed=0: ok: test_acc 76.85 %", "cnn seed=0: error: test_acc 76.85 %")
    with pytest.raises(AssertionError):
        check_output("MyNet  25,450", "MyNet  25,451", exact=True)


# ---------------------------------------------------------------------------------------------
# the tutorials, run for real


def _own_model_block(title: str) -> Block:
    return next(b for b in blocks(DOCS / "tutorials/own-model.md") if b.title == title)


def play(page: Path, shell: UserShell) -> int:
    """Run a tutorial's blocks in order in the shell's directory: titled blocks are files it
    writes (a titled text block: a file the commands wrote, checked), python blocks run, bash
    commands run, text blocks are the output of the command before them. Returns the outputs
    checked."""
    workdir = shell.directory
    last_output, last_command, checked = "", None, 0
    for block in blocks(page):
        where = f"{page.name}: {block.title or last_command}"
        if block.lang == "text":
            if block.title:
                check_output(block.body, (workdir / block.title).read_text(), where=where)
            else:
                exact = last_command is not None and last_command[1] == "list"
                check_output(block.body, last_output, exact=exact, where=where)
            checked += 1
        elif block.title:
            (workdir / block.title).write_text(block.body)
        elif block.lang == "python":
            last_output = shell.python(block.body, f"{page.name}: python block")
        elif block.lang == "bash":
            for command in commands(block.body):
                last_command = command
                last_output = shell.bench(*bench_args(command))
        elif block.lang == "toml":
            tomllib.loads(block.body)
    return checked


def finished(results: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(results / "archbench.sqlite") as conn:
        return conn.execute("SELECT run_id, finished_at FROM runs ORDER BY run_id").fetchall()


@pytest.mark.slow
def test_the_own_model_tutorial(mnist_root, tmp_path):
    """docs/tutorials/own-model.md, every block in order, in an empty directory: the files it
    writes, the commands it runs, the output it shows."""
    with user_shell(tmp_path, ARCHBENCH_DATA=str(mnist_root)) as shell, figures_not_drawn():
        checked = play(DOCS / "tutorials/own-model.md", shell)
    assert checked >= 6
    results = tmp_path / "results"
    with sqlite3.connect(results / "archbench.sqlite") as conn:
        archs = {row[0] for row in conn.execute("SELECT DISTINCT arch FROM runs")}
        members = conn.execute(
            "SELECT COUNT(*) FROM suite_runs WHERE suite = 'mynet-vs-cnn'"
        ).fetchone()[0]
    assert archs == {"MyNet", "cnn", "mymlp64", "digits_slp", "digits_mlp"}
    assert members == 6  # MyNet's and cnn's runs of step 1 joined the study, untrained again
    report = (results / "mynet.md").read_text()
    assert "| MyNet " in report and "| mymlp64 " in report and "| cnn " in report


@pytest.mark.slow
def test_the_recap_tutorial(mnist_root, tmp_path):
    """docs/tutorials/recap.md: its slice commands run for real; the output it shows of the
    full recap (made on this project's machine) has the lines those commands print."""
    page = DOCS / "tutorials/recap.md"
    found = blocks(page)
    quick = next(b for b in found if b.lang == "bash" and "results-quick" in b.body)
    outputs = {}
    with user_shell(tmp_path, ARCHBENCH_DATA=str(mnist_root)) as shell, figures_not_drawn():
        for command in commands(quick.body):
            outputs[command[1]] = shell.bench(*bench_args(command))
        assert (tmp_path / "results-quick" / "report.md").is_file()
        results = shell.bench("results", "--results", "results-quick")
    # the slice trains one epoch, which the recipe column names: the page shows the full recap
    outputs["results"] = results.replace("adam-bs64-e5 (epochs=1)", "adam-bs64-e5")
    shown = 0
    for before, block in itertools.pairwise(found):
        if block.lang == "text" and before.lang == "bash":
            subcommand = commands(before.body)[-1][1]
            check_output(block.body, outputs[subcommand], where=f"recap.md: bench {subcommand}")
            shown += 1
    assert shown == 2


# ---------------------------------------------------------------------------------------------
# the generated reference


def load_hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "scripts/docs_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cli_reference_has_every_subcommand_and_option():
    hooks = load_hooks()
    parser = build_parser()
    text = hooks.cli_reference(parser)
    names = [name for name, _, _ in hooks.subcommands(parser)]
    assert {"run", "report", "data prepare", "data verify", "compare"} <= set(names)
    for name, sub, _ in hooks.subcommands(parser):
        assert f"## bench {name}\n" in text
        section = text.split(f"## bench {name}\n")[1].split("\n## bench ")[0]
        for action in sub._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    found = re.search(rf"`[^`\n]*(?<![\w-]){flag}(?![\w-])[^`\n]*`", section)
                    assert found, f"bench {name}: {flag} missing"


def test_the_store_reference_has_every_table_and_column():
    hooks = load_hooks()
    from bench.store import schema

    tables = hooks.schema_tables()
    assert set(schema.TABLE_COLUMNS) <= set(tables) and "meta" in tables
    for name, columns in schema.TABLE_COLUMNS.items():
        text = hooks.store_table(name)
        for column in columns:
            assert f"| `{column}` |" in text
    notes = hooks.schema_notes()
    assert notes["runs"]["cpu_util"] == (
        "the conditions training was timed under (bench/train/timing.py) and the verdict",
        "cpu_s / (cpu_wall_s x threads)",
    )
    page = (DOCS / "reference/store.md").read_text()
    for name in tables:
        assert f"<!-- archbench:store-table {name} -->" in page


def test_the_generated_registries_list_every_architecture_suite_and_recipe():
    import architectures
    from bench.config import runs
    from bench.sweep import suites

    hooks = load_hooks()
    archs = hooks.architectures_table()
    assert all(f"| {name} " in archs for name in architectures.list_archs())
    text = hooks.suites_reference()
    for name in suites.list_suites():
        assert f"## {name}\n" in text
    assert text.count('```toml title="') == len(suites.builtin_files())
    recipes = hooks.recipes_table()
    assert all(f"`{name}`" in recipes for name in runs.list_recipes())


def test_an_unknown_marker_fails_the_build():
    hooks = load_hooks()
    with pytest.raises(hooks.GenerationError, match="unknown marker archbench:nope"):
        hooks.fill("# page\n\n<!-- archbench:nope -->\n", "page.md")
    with pytest.raises(hooks.GenerationError, match="no table"):
        hooks.fill("<!-- archbench:store-table nope -->", "page.md")


def test_the_example_report_page_has_its_figures_and_html():
    hooks = load_hooks()
    text = hooks.example_report()
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert figures and all((GENERATED.parent / f).is_file() for f in figures)
    assert (GENERATED.parent / "report.html").is_file()
    assert "(report.html)" in (DOCS / "example-report/index.md").read_text()


# ---------------------------------------------------------------------------------------------
# the site


@pytest.mark.slow
def test_the_site_builds_with_strict(tmp_path, caplog):
    """``mkdocs build --strict``, as ``nox -s docs`` and CI build it (here in this process,
    through the functions the command calls, with the same configuration): a broken link, a
    missing page or any warning fails, named. Skipped where the docs extra is not installed,
    except in CI."""
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must build the docs: install the docs extra (scripts/bootstrap.sh)")
        pytest.skip("mkdocs is not installed: pip install -e '.[docs]' (the bootstrap does)")
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort

    site = tmp_path / "site"
    config = load_config(str(ROOT / "mkdocs.yml"), strict=True, site_dir=str(site))
    try:
        with caplog.at_level(logging.WARNING, logger="mkdocs"):
            build(config)
    except Abort as abort:
        warnings = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
        pytest.fail(f"{abort}\n{warnings}")
    cli = (site / "reference/cli.html").read_text()
    assert 'id="bench-run"' in cli and "--seed-parallel" in cli
    api = (site / "reference/api.html").read_text()
    assert "run_study" in api and "StudyOutcome" in api and ":class:" not in api
    assert 'id="bench.checks.decide"' in api and 'id="bench.api.plan"' in api
    home = (site / "index.html").read_text()
    assert "unresolved after" in home and "archbench:example-recap" not in home
    for guide in ("pytest", "export", "untrusted-input", "seeds-and-statistics"):
        assert f'href="guides/{guide}.html"' in home, guide  # in the navigation
    assert "cpu_util" in (site / "reference/store.html").read_text()
    assert "report.html" in (site / "example-report/index.html").read_text()
    assert (site / "example-report/report.html").is_file()
