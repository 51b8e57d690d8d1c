"""An installed plugin (``archbench.plugins`` entry point) that cannot be imported blocks no
command: it is named (package, entry point, the error) in one warning line and left out, the
commands go on without it, ``bench run`` of an architecture it would provide says why that is
missing, and ``--no-plugins`` or ``ARCHBENCH_NO_PLUGINS=1`` skips plugins altogether."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cli import main
from bench.store import load
from tests.report.rendering import figures_not_drawn
from tests.usercode_helpers import clean_registries, write  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("clean_registries")

QUICK = ["--dataset", "synthetic", "--epochs", "1", "--limit-train", "300", "--threads", "1"]


def install(site: Path, package: str, body: str, version: str = "0.3") -> None:
    """A distribution ``package`` on ``site`` whose ``archbench.plugins`` entry point is the
    package itself."""
    write(site / package / "__init__.py", body)
    info = site / f"{package}-{version}.dist-info"
    write(info / "METADATA", f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
    write(info / "entry_points.txt", f"[archbench.plugins]\n{package} = {package}\n")
    write(info / "RECORD", f"{package}/__init__.py,,\n")


GOOD = """
from torch import nn
from architectures import register

@register(family="mine", description="an installed plugin", source="goodplug")
def goodnet(num_classes=10):
    return nn.Sequential(nn.Flatten(), nn.Linear(784, num_classes))
"""

BROKEN = {
    "raises": ("import torch\n\nVALUE = 1 / 0\n", "__init__.py:3: ZeroDivisionError"),
    "exits": ("import sys\n\nsys.exit()\n", "__init__.py:3: it calls sys.exit()"),
    "clashes": (
        "from torch import nn\nfrom architectures import register\n\n"
        "@register(family='x', description='x', source='x')\n"
        "def cnn(num_classes=10):\n    return nn.Linear(784, num_classes)\n",
        "'cnn'",
    ),
}


def warnings_of(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning: plugin")]


@pytest.mark.parametrize("kind", sorted(BROKEN))
@pytest.mark.slow
def test_a_broken_installed_plugin_is_named_and_left_out(tmp_path, monkeypatch, capsys, kind):
    site = tmp_path / "site"
    body, error = BROKEN[kind]
    install(site, "brokenplug", body)
    good = f"goodplug_{kind}"  # a module name of its own: imported modules stay imported
    install(site, good, GOOD.replace("goodnet", f"goodnet_{kind}"), version="1.0")
    monkeypatch.syspath_prepend(str(site))
    results = tmp_path / "R"

    # skipped altogether: no plugin imported, nothing said
    assert main(["list", "--no-plugins"]) == 0
    captured = capsys.readouterr()
    assert f"goodnet_{kind}" not in captured.out and warnings_of(captured.err) == []
    monkeypatch.setenv("ARCHBENCH_NO_PLUGINS", "1")
    assert main(["suites"]) == 0
    assert warnings_of(capsys.readouterr().err) == []
    monkeypatch.delenv("ARCHBENCH_NO_PLUGINS")

    # every command goes on without the broken one, and says so in one line
    assert main(["list"]) == 0
    captured = capsys.readouterr()
    assert f"goodnet_{kind}" in captured.out and "cnn" in captured.out
    (line,) = warnings_of(captured.err)
    assert "plugin brokenplug (entry point 'brokenplug' of package brokenplug 0.3)" in line
    assert error in line and "--no-plugins" in line and "ARCHBENCH_NO_PLUGINS=1" in line
    assert main(["suites"]) == 0
    assert len(warnings_of(capsys.readouterr().err)) == 1
    args = ["run", "--arch", f"goodnet_{kind}", *QUICK, "--results", str(results), "--quiet"]
    assert main(args) == 0
    assert len(warnings_of(capsys.readouterr().err)) == 1
    assert load(results).runs.arch.tolist() == [f"goodnet_{kind}"]
    if kind == "raises":  # (the report is the slow part: once is enough, its text only)
        out = tmp_path / "report.md"
        args = ["report", "--results", str(results), "--out", str(out), "--quiet"]
        with figures_not_drawn():
            assert main(args) == 0
        assert len(warnings_of(capsys.readouterr().err)) == 1
        assert f"goodnet_{kind}" in out.read_text()

    # what the broken plugin would provide: missing, and why
    assert main(["run", "--arch", "brokennet", *QUICK, "--results", str(results)]) == 2
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if line.startswith("bench: error:")]
    assert "brokennet" in line and "may come from a plugin that cannot be imported" in line
    assert "plugin brokenplug (entry point 'brokenplug' of package brokenplug 0.3)" in line
    assert error in line
    assert main(["list", "brokennet"]) == 2
    err = capsys.readouterr().err
    assert "may come from a plugin that cannot be imported" in err
