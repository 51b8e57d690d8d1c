"""Text a store, a study file or a path controls reaches the terminal as data: a control
sequence in it (ESC ``[2J`` clears the screen, ESC ``]0;`` retitles the window, a bidi override
reorders the line) is printed as its escape, never sent to the terminal; csv keeps the stored
text as it is, json escapes it as JSON does."""

from __future__ import annotations

import io
import json
import sqlite3

import pandas as pd
import pytest

from bench.cli import main
from bench.report import terminal_text
from bench.store import load
from tests.conftest import copy_store
from tests.helpers import bench_main
from tests.usercode_helpers import user_shell, write

CLEAR = "\x1b[2J"
TITLE = "\x1b]0;pwned\x07"
BIDI = "\u202e"
HOSTILE = f"boom{CLEAR}{TITLE}{BIDI}|x\nnext"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("mlp32", "mlp32"),
        ("accuracy −0.5 pp, é, 中", "accuracy −0.5 pp, é, 中"),
        (HOSTILE, "boom\\x1b[2J\\x1b]0;pwned\\x07\\u202e|x\\nnext"),
        ("a\tb\r", "a\\tb\\r"),
    ],
)
def test_terminal_text_writes_every_unprintable_character_as_its_escape(text, shown):
    assert terminal_text(text) == shown
    assert terminal_text(3.5) == 3.5 and terminal_text(None) is None


def poisoned(store):
    """The store with a hostile failure message and architecture name in every run."""
    with sqlite3.connect(store / "archbench.sqlite") as db:
        db.execute(
            "UPDATE runs SET message = ?, config_json = json_set(config_json, '$.arch', ?)",
            (HOSTILE, f"mlp{CLEAR}"),
        )
    db.close()
    return store


def inert(text: str) -> bool:
    return not any(ch in text for ch in ("\x1b", "\x07", BIDI))


def test_tables_from_a_hostile_store_send_no_control_sequence(seeds_store, tmp_path, capsys):
    store = poisoned(seeds_store)
    other = copy_store(store, tmp_path / "other")
    runs = len(load(store).runs)
    shown = "boom\\x1b[2J\\x1b]0;pwned\\x07\\u202e|x\\nnext"
    assert main(["results", "--results", str(store), "--columns", "run_id,message"]) == 0
    table = capsys.readouterr().out
    assert inert(table) and table.count(shown) == runs
    assert len(table.splitlines()) == 2 + runs  # a line break in a cell breaks no row

    assert main(["compare", str(store), str(other)]) == 0
    compared = capsys.readouterr().out
    assert inert(compared) and "mlp\\x1b[2J" in compared
    assert main(["compare", str(store), str(other), "--format", "markdown"]) == 0
    assert inert(capsys.readouterr().out)

    # csv keeps the stored text as it is; json escapes it as JSON does
    columns = ["--columns", "run_id,message"]
    assert main(["results", "--results", str(store), *columns, "--format", "csv"]) == 0
    rows = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert set(rows.message) == {HOSTILE}
    assert main(["results", "--results", str(store), *columns, "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert inert(out) and {row["message"] for row in json.loads(out)} == {HOSTILE}


def test_an_error_line_naming_a_hostile_path_stays_one_inert_line(tmp_path, capsys):
    missing = tmp_path / f"results{CLEAR}{TITLE}"
    assert main(["results", "--results", str(missing)]) != 0
    err = capsys.readouterr().err
    assert inert(err) and err.count("\n") == 1 and "results\\x1b[2J" in err


def test_a_failing_models_message_reaches_the_progress_lines_escaped(tmp_path):
    """A user model's error message (the progress line of its failed run, and the table of
    runs ``bench run`` prints) and its name in the progress, without a terminal's bars."""
    write(
        tmp_path / "models.py",
        f"""
        from torch import nn

        class Boom(nn.Module):
            def __init__(self, num_classes=10):
                super().__init__()
                self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, num_classes))

            def forward(self, x):
                if self.training:  # the shape check before the sweep passes
                    raise RuntimeError({HOSTILE!r})
                return self.net(x)
        """,
    )
    with user_shell(tmp_path) as shell, shell.fresh():
        done = bench_main(
            "run", "--arch", "models.py:Boom", "--dataset", "synthetic", "--epochs", "1"
        )
    assert done.returncode == 1  # a failed run
    assert inert(done.stdout) and inert(done.stderr)
    # a run's message is one line (its line break a space), each control character escaped
    shown = "RuntimeError: boom\\x1b[2J\\x1b]0;pwned\\x07\\u202e|x next"
    assert shown in done.stderr  # the progress line
    assert shown in done.stdout  # the table of the runs trained


def test_a_study_files_text_in_bench_suites_is_escaped(tmp_path, capsys):
    study = tmp_path / "study.toml"
    study.write_text(
        f'archs = ["mlp32"]\ndescription = {json.dumps(HOSTILE)}\nsource = {json.dumps(TITLE)}\n'
    )
    shown = {}
    for fmt in ("table", "markdown"):
        assert main(["suites", "--suite-file", str(study), "--format", fmt]) == 0
        shown[fmt] = capsys.readouterr().out
        assert inert(shown[fmt]) and "boom" in shown[fmt]
    assert "boom\\x1b[2J\\x1b]0;pwned\\x07\\u202e|x\\nnext" in shown["table"]
