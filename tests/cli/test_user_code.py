"""Benchmark your own model from the command line: architectures from files, edits that make
new variants, the user's datasets, plugins, and bad input (one line, exit 2, nothing written)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bench.cli import main
from tests.helpers import bench_main
from tests.report.rendering import figures_not_drawn, undrawn_figures  # noqa: F401
from tests.usercode_helpers import (
    QUICK_RUN,
    as_a_new_process,
    clean_registries,  # noqa: F401  (fixture)
    registries_now,
    tmp_modules_dropped,  # noqa: F401  (fixture)
    write,
    write_image_folder,
    write_mynet,
    write_npz,
)

pytestmark = pytest.mark.usefixtures("clean_registries")


def run_ids(results: Path) -> dict[str, str]:
    with sqlite3.connect(results / "archbench.sqlite") as conn:
        return dict(conn.execute("SELECT run_id, arch FROM runs").fetchall())


# its reports are read for their text (figures not drawn: tests/report/rendering.py)
@pytest.mark.usefixtures("undrawn_figures")
@pytest.mark.slow
def test_my_net_beside_cnn_then_an_edit_makes_a_second_variant(tmp_path):
    user = tmp_path / "project"
    models = write_mynet(user, width=16)
    results = tmp_path / "results"
    args = [
        "run",
        "--arch",
        f"{models}:MyNet",
        "cnn",
        "--dataset",
        "synthetic",
        "--seeds",
        "0-1",
        "--results",
        str(results),
        *QUICK_RUN,
    ]
    assert main(args) == 0
    first = run_ids(results)
    assert sorted(first.values()) == ["MyNet", "MyNet", "cnn", "cnn"]
    assert main(["report", "--results", str(results), "--quiet"]) == 0
    report = (results / "report.md").read_text()
    assert "| MyNet " in report and "| cnn " in report
    assert "12,730" in report  # MyNet's parameters (784*16+16 + 16*10+10), from torchinfo
    assert "<code>MyNet[" in report  # its torchinfo summary
    assert "95 % CI" in report or "CI" in report

    write_mynet(user, width=24)
    assert main(args) == 0
    second = run_ids(results)
    new = set(second) - set(first)
    assert len(new) == 2 and {second[i] for i in new} == {"MyNet"}  # cnn was not re-run
    assert main(["report", "--results", str(results), "--quiet"]) == 0
    report = (results / "report.md").read_text()
    assert "19,090" in report and "12,730" in report  # each variant with its own numbers
    assert report.count("| MyNet (code of models.py ") >= 2
    # the report shows what changed in the code, from the code stored with the runs
    assert "```diff" in report
    assert "-    def __init__(self, num_classes=10, width=16):" in report
    assert "+    def __init__(self, num_classes=10, width=24):" in report
    assert "MyNet: code of models.py changed" in report
    assert f"code of {models} sha256 " in report  # path and hash in Variants/environment


def test_list_shows_a_file_reference_with_params_and_mult_adds(tmp_path, capsys):
    models = write_mynet(tmp_path, width=16)
    assert main(["list", f"{models}:MyNet"]) == 0
    out = capsys.readouterr().out
    assert "MyNet" in out and "12,730" in out and "user" in out


def test_a_factory_gets_num_classes_and_arch_args(tmp_path):
    write(
        tmp_path / "nets.py",
        """
        from torch import nn

        def make_net(num_classes, hidden=8):
            return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(),
                                 nn.Linear(hidden, num_classes))

        class NoClasses(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(784, 10)

            def forward(self, x):
                return self.fc(x.flatten(1))
    """,
    )
    results = tmp_path / "results"
    code = main(
        [
            "run",
            "--arch",
            f"{tmp_path}/nets.py:make_net",
            "--arch-arg",
            "hidden=5",
            "--dataset",
            "synthetic",
            "--results",
            str(results),
            *QUICK_RUN,
        ]
    )
    assert code == 0
    code = main(
        [
            "run",
            "--arch",
            f"{tmp_path}/nets.py:NoClasses",
            "--dataset",
            "synthetic",
            "--results",
            str(results),
            *QUICK_RUN,
        ]
    )
    assert code == 0
    with sqlite3.connect(results / "archbench.sqlite") as conn:
        rows = dict(conn.execute("SELECT arch, params FROM runs").fetchall())
    assert rows == {"make_net": 784 * 5 + 5 + 5 * 10 + 10, "NoClasses": 7850}


@pytest.mark.slow
def test_npz_and_image_folder_datasets_train_and_report(tmp_path):
    new_process = registries_now()  # what a `bench report` started afresh knows
    npz = write_npz(tmp_path / "digits4.npz", classes=4)
    folder = write_image_folder(tmp_path / "shapes")
    results = tmp_path / "results"
    assert (
        main(
            ["run", "--arch", "mlp32", "--dataset", str(npz), "--results", str(results), *QUICK_RUN]
        )
        == 0
    )
    write(
        tmp_path / "small.py",
        """
        from torch import nn

        def small(num_classes):
            return nn.Sequential(nn.Flatten(), nn.Linear(144, 16), nn.ReLU(),
                                 nn.Linear(16, num_classes))
    """,
    )
    assert (
        main(
            [
                "run",
                "--arch",
                f"{tmp_path}/small.py:small",
                "--dataset",
                str(folder),
                "--results",
                str(results),
                *QUICK_RUN,
            ]
        )
        == 0
    )
    with sqlite3.connect(results / "archbench.sqlite") as conn:
        rows = conn.execute("SELECT arch, dataset, status, test_acc FROM runs").fetchall()
    assert {(a, d, s) for a, d, s, _ in rows} == {
        ("mlp32", "digits4.npz", "ok"),
        ("small", "shapes", "ok"),
    }
    assert main(["report", "--results", str(results), "--quiet"]) == 0
    report = (results / "report.md").read_text()
    assert f"data {npz} sha256 " in report and f"data {folder} sha256 " in report
    # the data and code known from the store only; the text read (figures not drawn)
    with as_a_new_process(new_process), figures_not_drawn():
        again = bench_main("report", "--results", str(results), "--quiet")
    assert again.returncode == 0, again.stderr
    write_npz(npz, classes=4, seed=9)  # the data changed since: its evaluations are not redone
    with as_a_new_process(new_process), figures_not_drawn():
        changed = bench_main("report", "--results", str(results), "--quiet")
    assert changed.returncode == 0, changed.stderr
    report = (results / "report.md").read_text()
    assert "## Checkpoint evaluations not redone" in report
    assert "dataset digits4.npz differs from the run's" in report


@pytest.mark.slow
def test_plugins_from_import_pyproject_and_entry_points(tmp_path, monkeypatch, capsys):
    write(
        tmp_path / "plug" / "myplugin.py",
        """
        from torch import nn
        from architectures import register

        @register(family="mine", description="a plugin MLP", source="my plugin")
        def plugnet(num_classes=10):
            return nn.Sequential(nn.Flatten(), nn.Linear(784, num_classes))
    """,
    )
    assert main(["list", "--import", str(tmp_path / "plug" / "myplugin.py"), "plug*"]) == 0
    assert "plugnet" in capsys.readouterr().out

    write(
        tmp_path / "proj" / "pyproject.toml",
        """
        [tool.archbench]
        import = ["projplug.py"]
    """,
    )
    write(
        tmp_path / "proj" / "projplug.py",
        """
        from torch import nn
        from architectures import register

        @register(family="mine", description="from pyproject", source="pyproject")
        def projnet(num_classes=10):
            return nn.Sequential(nn.Flatten(), nn.Linear(784, num_classes))
    """,
    )
    monkeypatch.chdir(tmp_path / "proj")
    assert main(["list", "proj*"]) == 0
    assert "projnet" in capsys.readouterr().out

    site = tmp_path / "site"
    write(
        site / "epplugin" / "__init__.py",
        """
        from torch import nn
        from architectures import register

        @register(family="mine", description="installed", source="epplugin 1.2")
        def epnet(num_classes=10):
            return nn.Sequential(nn.Flatten(), nn.Linear(784, num_classes))
    """,
    )
    write(
        site / "epplugin-1.2.dist-info" / "METADATA",
        "Metadata-Version: 2.1\nName: epplugin\nVersion: 1.2\n",
    )
    write(
        site / "epplugin-1.2.dist-info" / "entry_points.txt",
        "[archbench.plugins]\nepplugin = epplugin\n",
    )
    write(site / "epplugin-1.2.dist-info" / "RECORD", "epplugin/__init__.py,,\n")
    monkeypatch.syspath_prepend(str(site))  # installed: entry points are read from sys.path
    proc = bench_main("list", "ep*")
    assert proc.returncode == 0, proc.stderr
    assert "epnet" in proc.stdout and "installed" in proc.stdout
    results = tmp_path / "results"
    proc = bench_main(
        "run", "--arch", "epnet", "--dataset", "synthetic", "--results", str(results), *QUICK_RUN
    )
    assert proc.returncode == 0, proc.stderr
    with sqlite3.connect(results / "archbench.sqlite") as conn:
        (config,) = conn.execute("SELECT config_json FROM runs").fetchone()
    origin = json.loads(json.loads(config)["arch_source"])
    assert (origin["package"], origin["version"]) == ("epplugin", "1.2")
    assert origin["path"] == str(site / "epplugin" / "__init__.py") and len(origin["sha256"]) == 64


@pytest.mark.usefixtures("tmp_modules_dropped")
@pytest.mark.slow
def test_a_module_reference_on_the_path(tmp_path, monkeypatch, capsys):
    write(tmp_path / "mypkg" / "__init__.py", "")
    write(
        tmp_path / "mypkg" / "models.py",
        """
        from torch import nn

        def make_net(num_classes=10):
            return nn.Sequential(nn.Flatten(), nn.Linear(784, num_classes))
    """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["list", "mypkg.models:make_net"]) == 0
    assert "make_net" in capsys.readouterr().out
    assert main(["list", "mypkg.models:make_nett"]) == 2
    assert "closest: make_net" in capsys.readouterr().err
    # installed since (into a folder already on the path): the run names its distribution
    info = tmp_path / "mypkg-1.0.dist-info"
    write(info / "METADATA", "Metadata-Version: 2.1\nName: mypkg\nVersion: 1.0\n")
    write(info / "RECORD", "mypkg/__init__.py,,\nmypkg/models.py,,\n")
    results = tmp_path / "results"
    args = ["--arch", "mypkg.models:make_net", "--dataset", "synthetic", "--results", str(results)]
    assert main(["run", *args, *QUICK_RUN]) == 0
    with sqlite3.connect(results / "archbench.sqlite") as conn:
        (config,) = conn.execute("SELECT config_json FROM runs").fetchone()
    origin = json.loads(json.loads(config)["arch_source"])
    assert (origin["package"], origin["version"]) == ("mypkg", "1.0")


def test_a_plugin_clashing_with_a_built_in_is_refused_naming_both(tmp_path, capsys):
    plugin = write(
        tmp_path / "clash.py",
        """
        from torch import nn
        from architectures import register

        @register(family="mine", description="clash", source="me")
        def cnn(num_classes=10):
            return nn.Linear(784, num_classes)
    """,
    )
    assert main(["list", "--import", str(plugin)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "'cnn'" in err and str(plugin) in err and "architectures/cnn.py" in err
