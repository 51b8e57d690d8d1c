from __future__ import annotations

import io
import json
import subprocess
import sys

import pandas as pd
import pytest

from bench.cli import main
from bench.data import sources as data_sources
from tests.architectures.test_registry import QUOTED_PARAMS
from tests.conftest import copy_store
from tests.helpers import bench_main


def test_list_csv_has_every_arch_with_exact_counts(capsys):
    assert main(["list", "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert {"name", "family", "source", "params", "mult_adds"} <= set(table.columns)
    counts = dict(zip(table["name"], table["params"], strict=True))
    for name, params in QUOTED_PARAMS.items():
        assert counts[name] == params
    assert len(table) >= 12


def test_list_markdown_and_pattern(capsys):
    assert main(["list", "mlp2*", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].startswith("|:") and "mlp256" in out and "cnn" not in out


def test_unknown_architecture_exits_2_with_one_line_naming_close_matches():
    """Its exit status (the ``bench`` process exits with what main returns:
    bench/__main__.py), one line, and no traceback."""
    done = bench_main("list", "mlp3")
    code, out, err = done.returncode, done.stdout, done.stderr
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "mlp32" in err and "Traceback" not in err


def test_nosuchnet(capsys):
    assert main(["list", "nosuchnet"]) == 2
    err = capsys.readouterr().err
    assert "nosuchnet" in err and "closest:" in err and err.count("\n") == 1


def test_architectures_come_in_the_order_given(capsys):
    assert main(["list", "tinycnn", "mlp2*", "cnn", "--format", "csv"]) == 0
    names = [line.split(",")[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert names == ["tinycnn", "mlp256", "mlp256_128", "cnn"]


def test_a_typo_beside_valid_names_is_refused_not_dropped(capsys, tmp_path):
    code = main(["run", "--arch", "mlp32", "cnnn", "--results", str(tmp_path / "r")])
    assert code == 2
    assert "unknown architecture 'cnnn'; closest: cnn" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_an_argument_the_architecture_does_not_take_is_a_usage_error(capsys, tmp_path):
    code = main(
        ["run", "--arch", "mlp32", "--arch-arg", "hidden=[8]", "--results", str(tmp_path / "r")]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "--arch-arg for mlp32: architecture 'mlp32' takes no argument 'hidden'" in err
    assert err.count("\n") == 1 and not (tmp_path / "r").exists()


@pytest.mark.parametrize("command", ["run --arch mlp32", "speed --arch mlp32"])
def test_zero_threads_is_a_usage_error(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([*command.split(), "--threads", "0"])
    assert stop.value.code == 2
    assert "argument --threads: must be >= 1, got 0" in capsys.readouterr().err


def test_a_path_that_cannot_be_written_is_one_line_not_a_traceback(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code = main(["data", "prepare", "mnist", "--offline", "--data-root", str(blocker / "data")])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("bench: error: Not a directory: ") and err.count("\n") == 1


def test_unknown_dataset_exits_2(capsys):
    assert main(["data", "prepare", "cifar10"]) == 2
    err = capsys.readouterr().err
    assert "unknown dataset 'cifar10'" in err and "mnist" in err


@pytest.mark.slow
def test_verify_names_the_corrupt_file_and_prepare_repairs_it(mnist_root, tmp_path, capsys):
    root = tmp_path / "copy"
    raw = data_sources.MNIST.raw_dir(root)
    raw.mkdir(parents=True)
    for name in data_sources.MNIST.files:
        (raw / name).write_bytes((data_sources.MNIST.raw_dir(mnist_root) / name).read_bytes())
    assert main(["data", "verify", "--data-root", str(root)]) == 0
    target = raw / "train-labels-idx1-ubyte"
    data = bytearray(target.read_bytes())
    data[1000] ^= 0xFF
    target.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["data", "verify", "--data-root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "train-labels-idx1-ubyte" in err and "a25bea736e30d166cdddb491f175f624" in err
    assert f"bench data prepare mnist --data-root {root}" in err
    assert main(["data", "prepare", "mnist", "--offline", "--data-root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "replaced train-labels-idx1-ubyte" in out
    assert main(["data", "verify", "--data-root", str(root)]) == 0


def test_verify_on_an_empty_root_says_what_to_do(tmp_path, capsys):
    assert main(["data", "verify", "--data-root", str(tmp_path)]) == 1
    assert "bench data prepare mnist" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--help"], ["list", "--help"], ["data", "prepare", "--help"]])
def test_help_works(args):
    done = bench_main(*args)
    assert done.returncode == 0 and "usage: bench" in done.stdout


START_PROBE = """
import contextlib, io, json, sys
from bench.cli import main
for args in json.loads(sys.argv[1]):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            status = main(args)
        except SystemExit as exc:
            status = exc.code
    print(json.dumps([args[0], status, out.getvalue()]))
print(json.dumps(sorted(m for m in ("torch", "matplotlib") if m in sys.modules)))
"""


@pytest.mark.slow  # a fresh interpreter, on the session's seeds store
def test_help_bad_values_results_and_compare_start_without_torch(seeds_store, tmp_path):
    """``bench --help``, subcommands' ``--help``, an argument error, a value ``bench run``
    refuses, ``bench results`` and ``bench compare`` need no model: they never import torch
    (seconds of start-up) nor matplotlib. A fresh interpreter: this one imported both long
    ago."""
    other = copy_store(seeds_store, tmp_path / "other")
    commands = [
        ["--help"],
        *([name, "--help"] for name in ("run", "report", "results", "compare", "plan", "speed")),
        ["results", "--format", "nope"],
        ["run", "--arch", "mlp32", "--epochs", "0", "--results", str(tmp_path / "R")],
        ["run", "--arch", "mlp32", "--lr", "-1", "--results", str(tmp_path / "R")],
        ["results", "--results", str(seeds_store), "--format", "csv"],
        ["compare", str(seeds_store), str(other)],
    ]
    done = subprocess.run(
        [sys.executable, "-c", START_PROBE, json.dumps(commands)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    *answers, imported = [json.loads(line) for line in done.stdout.splitlines()]
    assert imported == [], done.stderr
    statuses = [status for _, status, _ in answers]
    assert statuses == [0] * 7 + [2, 2, 2, 0, 0], answers
    assert "--epochs must be >= 1, got 0" in done.stderr and "--lr must be > 0" in done.stderr
    assert not (tmp_path / "R").exists()  # refused before anything is written
    results = pd.read_csv(io.StringIO(answers[-2][2]))
    assert len(results) == len(set(results.run_id)) > 0 and results.status.eq("ok").all()
    assert "slp" in answers[-1][2]
