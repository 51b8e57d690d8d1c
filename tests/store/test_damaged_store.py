"""A store that is not SQLite, or has damaged pages, costs no work and no traceback: readers
and writers refuse it in one line without touching it, a run that trained while the store
broke is kept in a side file to import, and the readable rows can be salvaged."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from bench.cli import main
from bench.store import ResultsStore, load
from bench.sweep import sweep as sweep_module
from tests.helpers import quick_config
from tests.store.fake_runs import fake_result

DB = "archbench.sqlite"


def written_store(directory: Path, runs: int = 3, epochs: int = 2) -> Path:
    store = ResultsStore(directory)
    for seed in range(runs):
        store.record(fake_result(seed, epochs=epochs))
    assert not Path(f"{store.path}-wal").exists()  # all in the file once the store is closed
    return directory


def page_of(path: Path, table: str, leaf: bool = False) -> int:
    """The root page of ``table`` (or, with ``leaf``, its first leaf page)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,))
        page = root.fetchone()[0]
    size = page_size(path)
    if leaf:
        data = path.read_bytes()[(page - 1) * size : page * size]
        assert data[0] == 0x05, "the table should span several pages"  # interior table page
        cell = int.from_bytes(data[12:14], "big")
        page = int.from_bytes(data[cell : cell + 4], "big")
    return page


def page_size(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[16:18], "big")


def damage_page(path: Path, page: int) -> None:
    size = page_size(path)
    with open(path, "r+b") as handle:
        handle.seek((page - 1) * size)
        handle.write(b"\xff" * size)


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def garbage(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * (path.stat().st_size // 256))


def empty(path: Path) -> None:
    path.write_bytes(b"")


def damaged_pages(path: Path) -> None:
    damage_page(path, page_of(path, "history"))


def snapshot(directory: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "damage,words",
    [
        (truncated, "truncated"),
        (garbage, "not an SQLite database"),
        (empty, "empty (0 bytes)"),
        (damaged_pages, "is damaged"),
    ],
)
def test_every_command_refuses_a_damaged_store_in_one_line_and_leaves_it_alone(
    tmp_path, capsys, damage, words
):
    results = written_store(tmp_path / "R")
    other = written_store(tmp_path / "other")
    damage(results / DB)
    before = snapshot(results)
    commands = [
        ["results", "--results", str(results)],
        ["results", "--results", str(results), "--history"],
        ["report", "--results", str(results), "--out", str(tmp_path / "out" / "r.md")],
        ["compare", str(results), str(other)],
        [
            "run",
            "--arch",
            "mlp32",
            "--dataset",
            "synthetic",
            "--epochs",
            "1",
            "--seeds",
            "7",
            "--results",
            str(results),
            "--quiet",
        ],
    ]
    for command in commands:
        assert main(command) == 2, command
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(results / DB) in err and words in err, err
        assert "Traceback" not in err and "Execution failed" not in err
    assert snapshot(results) == before  # nothing written: no checkpoint, no log
    assert not (tmp_path / "out").exists()


def test_a_damaged_store_is_refused_before_training_with_how_to_salvage(tmp_path, capsys):
    results = written_store(tmp_path / "R")
    damaged_pages(results / DB)
    code = main(
        [
            "run",
            "--arch",
            "mlp32",
            "--dataset",
            "synthetic",
            "--epochs",
            "1",
            "--seeds",
            "5-6",
            "--results",
            str(results),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "nothing was written" in err and "--salvage NEW_DIR" in err
    assert sorted((results / "checkpoints").iterdir()) == []  # nothing trained


def test_salvage_copies_the_readable_rows_and_stepping_over_a_damaged_page(tmp_path, capsys):
    results = written_store(tmp_path / "R", runs=20, epochs=30)  # history spans many pages
    damage_page(results / DB, page_of(results / DB, "history", leaf=True))
    new = tmp_path / "new"
    assert main(["results", "--results", str(results), "--salvage", str(new)]) == 0
    out = capsys.readouterr().out
    assert "copied 20 runs" in out and "rows lost to damage in history" in out
    tables = load(new)
    assert len(tables.runs) == 20
    assert 0 < len(tables.history) < 20 * 30  # one page lost, the pages after it kept
    assert tables.history.epoch.max() == 30  # rows beyond the damaged page were reached
    assert main(["results", "--results", str(new)]) == 0  # a healthy store again
    # salvage never writes into an existing store
    assert main(["results", "--results", str(results), "--salvage", str(new)]) == 2


def run_seed_9(results: Path) -> list[str]:
    return [
        "run",
        "--arch",
        "mlp32",
        "--dataset",
        "synthetic",
        "--epochs",
        "1",
        "--seeds",
        "9",
        "--results",
        str(results),
        "--quiet",
        "--threads",
        "1",
    ]


def test_a_run_the_store_cannot_take_is_kept_and_imported_once_repaired(
    tmp_path, capsys, monkeypatch
):
    results = written_store(tmp_path / "R")
    # the store breaks while the run trains (after bench run checked it): damage its runs
    # table just before the run is recorded
    record = ResultsStore.record

    def break_then_record(self, result, **options):
        damage_page(self.path, page_of(self.path, "runs"))
        return record(self, result, **options)

    monkeypatch.setattr(ResultsStore, "record", break_then_record)
    code = main(run_seed_9(results))
    captured = capsys.readouterr()
    assert code == 1 and "1 NOT recorded" in captured.out, captured.err
    errors = [line for line in captured.err.splitlines() if line.startswith("bench: error")]
    assert len(errors) == 1 and "--record-unrecorded" in errors[0], (
        captured.err
    )  # (beside a busy warning)
    kept = sorted((results / "unrecorded").glob("*.json"))
    assert len(kept) == 1
    monkeypatch.undo()

    new = tmp_path / "new"
    assert main(["results", "--results", str(results), "--salvage", str(new)]) == 0
    assert main(["results", "--results", str(new), "--record-unrecorded", str(kept[0])]) == 0
    assert "imported mlp32 seed=9" in capsys.readouterr().out
    runs = load(new).runs.set_index("seed")
    assert runs.loc[9, "status"] == "ok" and runs.loc[9, "epochs_completed"] == 1
    assert (new / runs.loc[9, "checkpoint"]).stat().st_size > 0
    assert not kept[0].exists()
    # the same numbers as a run recorded directly
    direct = tmp_path / "direct"
    assert main(run_seed_9(direct)) == 0
    again = load(direct).runs.iloc[0]
    assert again.run_id == runs.loc[9, "run_id"] and again.test_acc == runs.loc[9, "test_acc"]


def test_salvage_of_a_store_with_nothing_readable_says_so(tmp_path, capsys):
    results = written_store(tmp_path / "R")
    garbage(results / DB)
    assert main(["results", "--results", str(results), "--salvage", str(tmp_path / "n")]) == 2
    assert "nothing to salvage" in capsys.readouterr().err
    assert not (tmp_path / "n").exists()


def test_a_valid_sqlite_file_that_is_not_a_store_is_named_as_such(tmp_path, capsys):
    (tmp_path / "R").mkdir()
    with contextlib.closing(sqlite3.connect(tmp_path / "R" / DB)) as conn:
        conn.execute("CREATE TABLE other (x)")
    assert main(["results", "--results", str(tmp_path / "R")]) == 2
    assert "not an archbench results store" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "R")


def test_a_checkpoint_that_cannot_be_written_travels_in_the_side_file(
    tmp_path, capsys, monkeypatch
):
    from bench.data import idx

    results = tmp_path / "R"
    write = idx.write_atomic

    def disk_full_for_checkpoints(path, data):
        if Path(path).parent.name == "checkpoints":
            raise OSError(28, "No space left on device", str(path))
        return write(path, data)

    monkeypatch.setattr(idx, "write_atomic", disk_full_for_checkpoints)
    assert main(run_seed_9(results)) == 1
    assert "No space left on device" in capsys.readouterr().err
    monkeypatch.undo()
    kept = sorted((results / "unrecorded").glob("*.json"))
    assert len(kept) == 1 and "checkpoint_b64" in kept[0].read_text()
    assert main(["results", "--results", str(results), "--record-unrecorded", str(kept[0])]) == 0
    run = load(results).runs.iloc[0]
    assert run.seed == 9 and (results / run.checkpoint).stat().st_size > 0


@pytest.mark.slow
def test_once_the_store_fails_mid_sweep_every_later_run_is_kept_and_all_are_recovered(
    tmp_path, capsys
):
    """The store breaks in the middle of a 12-run sweep: damaged pages that fail some reads
    and writes (those of slp's rows) but not others (mlp32's). Once one run cannot be
    recorded, the sweep writes nothing more into that store: every later run goes to a side
    file, so the summary's "nothing is lost" holds, and salvage plus --record-unrecorded
    give back every run the sweep trained, checkpoints included, with the numbers a healthy
    store records."""
    results = tmp_path / "R"
    store = ResultsStore(results)
    for seed in range(60):  # earlier slp runs, spanning several pages of the runs table
        fake = fake_result(seed)
        fake.config = quick_config("slp", seed=100 + seed)
        store.record(fake)
    sweep = [
        "run",
        "--arch",
        "slp",
        "mlp32",
        "--dataset",
        "synthetic",
        "--epochs",
        "1",
        "--seeds",
        "0-5",
        "--seed-parallel",
        "off",
        "--threads",
        "1",
        "--quiet",
    ]
    # the store breaks while the first run trains (after bench run checked it)
    record, judge = ResultsStore.record, sweep_module.judge_cpu_util

    def break_once(store, result):
        if not getattr(break_once, "done", False):
            break_once.done = True
            damage_page(store.path, page_of(store.path, "runs", leaf=True))
        return judge(store, result)

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(sweep_module, "judge_cpu_util", break_once)
    try:
        code = main([*sweep, "--results", str(results)])
    finally:
        monkeypatch.undo()
    assert ResultsStore.record is record
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert "12 NOT recorded" in captured.out and "nothing is lost" in captured.err
    kept = sorted((results / "unrecorded").glob("*.json"))
    assert len(kept) == 12
    with contextlib.closing(sqlite3.connect(results / DB)) as conn:
        seeds = {row[0] for row in conn.execute("SELECT seed FROM runs WHERE arch = 'mlp32'")}
    assert seeds == set()  # nothing went into the damaged store after it failed

    new = tmp_path / "new"
    assert main(["results", "--results", str(results), "--salvage", str(new)]) == 0
    assert main(["results", "--results", str(new), "--record-unrecorded", *map(str, kept)]) == 0
    recovered = load(new).runs
    trained = recovered[recovered.seed < 100]
    assert len(trained) == 12 and (trained.status == "ok").all()
    assert sorted(zip(trained.arch, trained.seed, strict=True)) == sorted(
        (arch, seed) for arch in ("slp", "mlp32") for seed in range(6)
    )
    assert all((new / path).stat().st_size > 0 for path in trained.checkpoint)
    direct = tmp_path / "direct"
    assert main([*sweep, "--results", str(direct)]) == 0
    healthy = load(direct).runs.set_index("run_id").test_acc
    assert trained.set_index("run_id").test_acc.sort_index().equals(healthy.sort_index())
