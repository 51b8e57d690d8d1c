"""bench.api: the same runs as the command line, from Python, classes passed as objects."""

from __future__ import annotations

import sqlite3
import sys

import pytest

from bench import api
from bench.cli import main
from tests.usercode_helpers import clean_registries, write_mynet  # noqa: F401

pytestmark = pytest.mark.usefixtures("clean_registries")
OPTIONS = dict(epochs=1, limit_train=300, limit_test=100, device="cpu", threads=1)


def test_api_run_gives_the_cli_run_ids_and_a_report(tmp_path, monkeypatch):
    write_mynet(tmp_path / "project")
    monkeypatch.syspath_prepend(str(tmp_path / "project"))
    monkeypatch.delitem(sys.modules, "models", raising=False)
    from models import MyNet

    runs = api.run(
        archs=[MyNet, "slp"], dataset="synthetic", seeds=range(2),
        results=tmp_path / "api", **OPTIONS,
    )  # fmt: skip
    assert sorted(runs.arch) == ["MyNet", "MyNet", "slp", "slp"]
    assert set(runs.status) == {"ok"}
    cli = ["run", "--arch", f"{tmp_path}/project/models.py:MyNet", "slp", "--dataset",
           "synthetic", "--seeds", "0-1", "--results", str(tmp_path / "cli"), "--epochs", "1",
           "--limit-train", "300", "--limit-test", "100", "--device", "cpu", "--threads", "1",
           "--quiet"]  # fmt: skip
    assert main(cli) == 0
    with sqlite3.connect(tmp_path / "cli" / "archbench.sqlite") as conn:
        cli_ids = {row[0] for row in conn.execute("SELECT run_id FROM runs")}
    assert set(runs.run_id) == cli_ids
    again = api.run(archs=[MyNet], dataset="synthetic", seeds=range(2), results=tmp_path / "api",
                    **OPTIONS)  # fmt: skip
    first = runs[runs.arch == "MyNet"].set_index("run_id").finished_at
    assert again.set_index("run_id").finished_at.to_dict() == first.to_dict()  # not re-run
    path = api.report(tmp_path / "api")
    assert path.is_file() and "MyNet" in path.read_text()
