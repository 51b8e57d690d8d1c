"""The TensorBoard export read back with TensorBoard's own event reader: a folder per run named
so that a model's seeds group (MODEL/seed=N), per-epoch scalars with the epoch as step, the
hyperparameters for the HParams dashboard; exporting again writes nothing twice."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from tensorboard.backend.event_processing.plugin_event_accumulator import (
    EventAccumulator,
)
from tensorboard.plugins.hparams import metadata
from tensorboard.util import tensor_util

from bench import api
from bench.cli.main import main
from bench.export import export_tensorboard
from bench.export.to_tensorboard import MARKER
from bench.store import load

QUICK = {"archs": ["mlp32"], "dataset": "synthetic", "device": "cpu", "seed_parallel": "off"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """mlp32 at 2 epochs (seeds 0 and 1) and at 1 epoch (seed 0): two models of one arch."""
    results = tmp_path_factory.mktemp("tensorboard") / "results"
    api.run(**QUICK, epochs=2, seeds=[0, 1], results=results)
    api.run(**QUICK, epochs=1, seeds=[0], results=results)
    return results


def read(folder):
    events = EventAccumulator(str(folder))
    events.Reload()
    return events


def series(events, tag):
    """The steps and the values (float32 in an event file, so as float32) of ``tag``."""
    return [
        (t.step, np.float32(tensor_util.make_ndarray(t.tensor_proto))) for t in events.Tensors(tag)
    ]


def test_one_folder_per_run_grouped_by_model_with_per_epoch_scalars(store, tmp_path, capsys):
    logdir = tmp_path / "tb"
    assert main(["export", "tensorboard", str(logdir), "--results", str(store)]) == 0
    assert "3 written, 0 already there" in capsys.readouterr().out
    folders = sorted(str(p.parent.relative_to(logdir)) for p in logdir.rglob(MARKER))
    assert folders == [
        "mlp32 (epochs=1)/seed=0",
        "mlp32 (epochs=2)/seed=0",
        "mlp32 (epochs=2)/seed=1",
    ]
    tables = load(store)
    for folder in folders:
        run_id = json.loads((logdir / folder / MARKER).read_text())["run_id"]
        history = tables.history[tables.history.run_id == run_id].sort_values("epoch")
        events = read(logdir / folder)
        for name, tag in (("test_acc", "acc/test"), ("train_loss", "loss/train")):
            expected = [
                (e, np.float32(v)) for e, v in zip(history.epoch, history[name], strict=True)
            ]
            assert series(events, tag) == expected
        row = tables.runs.set_index("run_id").loc[run_id]
        assert series(events, "final/time_train_s") == [
            (row.epochs_completed, np.float32(row.time_train_s))
        ]


def test_the_hyperparameters_are_there_for_the_hparams_dashboard(store, tmp_path):
    export_tensorboard(store, tmp_path)
    content = read(tmp_path / "mlp32 (epochs=2)" / "seed=1").PluginTagToContent("hparams")
    start = metadata.parse_session_start_info_plugin_data(content["_hparams_/session_start_info"])
    hparams = {name: value for name, value in start.hparams.items()}
    assert hparams["recipe.epochs"].number_value == 2 and hparams["seed"].number_value == 1
    assert hparams["model"].string_value == "mlp32 (epochs=2)"
    assert hparams["recipe.optimizer"].string_value == "adam"
    experiment = metadata.parse_experiment_plugin_data(content["_hparams_/experiment"])
    assert {"acc/test", "loss/test"} <= {m.name.tag for m in experiment.metric_infos}


def test_exporting_again_writes_nothing_twice(store, tmp_path):
    first = export_tensorboard(store, tmp_path)
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    again = export_tensorboard(store, tmp_path)
    assert len(first.written) == 3 and again.written == [] and len(again.already) == 3
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == files


def test_a_missing_extra_is_one_line_naming_it(store, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    assert main(["export", "tensorboard", str(tmp_path), "--results", str(store)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install 'archbench[tensorboard]'" in err
