"""`bench report --out` writes only a new path or a regular file (through a symlink to one),
refuses a directory or a special file before drawing anything, and files follow the umask."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from bench.cli import main
from bench.data import idx
from bench.store import ResultsStore
from bench.train import runner
from tests.helpers import quick_config
from tests.report.rendering import undrawn_figures  # noqa: F401  (fixture)
from tests.store.test_store_compat import FIXTURE


@pytest.fixture
def store(tmp_path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(FIXTURE, copy, ignore=shutil.ignore_patterns("report.md"))
    return copy


@pytest.fixture
def umask_002():
    old = os.umask(0o002)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def figures_folders(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if "_figures" in p.name]


def test_a_fifo_a_directory_or_a_symlink_to_a_fifo_is_refused_before_any_work(
    store, tmp_path, capsys
):
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    link = tmp_path / "link.md"
    link.symlink_to(fifo)
    for out, words in [
        (fifo, "not a regular file"),
        (folder, "is a directory"),
        (link, "not a regular file"),
    ]:
        code = main(["report", "--results", str(store), "--out", str(out), "--quiet"])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and words in err, err
    assert stat.S_ISFIFO(fifo.stat().st_mode) and link.is_symlink() and folder.is_dir()
    assert list(folder.iterdir()) == []
    assert figures_folders(tmp_path) == []  # nothing drawn, no figures folder left behind


@pytest.mark.usefixtures("undrawn_figures")  # the figures' files, their count and modes
def test_a_symlink_to_a_regular_file_is_written_through_and_new_files_follow_the_umask(
    store, tmp_path, capsys, umask_002
):
    target = tmp_path / "docs" / "real.md"
    target.parent.mkdir()
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "link.md"
    link.symlink_to(target)
    assert main(["report", "--results", str(store), "--out", str(link), "--quiet"]) == 0
    assert link.is_symlink() and link.resolve() == target
    assert target.read_text().startswith("# ") and mode(target) == 0o640  # its mode kept
    figures = target.parent / "real_figures"
    assert len(list(figures.glob("*.png"))) == 7
    assert mode(figures) == 0o775 and mode(next(figures.glob("*.png"))) == 0o664
    capsys.readouterr()
    fresh = tmp_path / "new" / "report.md"
    assert main(["report", "--results", str(store), "--out", str(fresh), "--quiet"]) == 0
    assert mode(fresh) == 0o664  # a new file: 0666 under the umask 002, as any tool


def test_checkpoints_and_prepared_files_follow_the_umask(tmp_path, umask_002):
    idx.write_atomic(tmp_path / "data" / "train-images-idx3-ubyte", b"\x00\x00\x08\x01")
    assert mode(tmp_path / "data" / "train-images-idx3-ubyte") == 0o664
    result = runner.execute(quick_config(epochs=1))
    ResultsStore(tmp_path / "R").record(result)
    assert mode(tmp_path / "R" / "checkpoints" / f"{result.run_id}.pt") == 0o664
    os.umask(0o077)  # a private umask stays private
    idx.write_atomic(tmp_path / "private", b"x")
    assert mode(tmp_path / "private") == 0o600


@pytest.mark.usefixtures("undrawn_figures")  # the report's text is the point
def test_the_reproduce_block_holds_the_report_command_as_a_shell_takes_it(seeds_store):
    """`bench report` from Python (``main([...])``) names itself in the Reproduce block as the
    `bench` command would, each argument quoted where a shell needs it (a folder with a
    space)."""
    spaced = seeds_store.parent / "my results"
    seeds_store.rename(spaced)
    out = spaced / "the report.md"
    assert main(["report", "--results", str(spaced), "--out", str(out), "--quiet"]) == 0
    reproduce = out.read_text().split("Reproduce (", 1)[1]
    assert f"bench report --results '{spaced}' --out '{out}' --quiet\n" in reproduce
