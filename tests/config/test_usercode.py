"""User code in run configs: the code's hash is part of the run id, built-in configs keep theirs."""

from __future__ import annotations

import hashlib
import json

import pytest

from bench.config import RunConfig, get_recipe
from bench.data import datasets
from bench.sweep import sweep
from tests.usercode_helpers import clean_registries, write_mynet  # noqa: F401

pytestmark = pytest.mark.usefixtures("clean_registries")


def test_a_built_in_config_keeps_its_run_id():
    """Left at their defaults, the user-code fields are not in the identity, so every
    earlier run id (sha256 of the identity's JSON) is unchanged."""
    config = RunConfig(arch="cnn", dataset="mnist", recipe=get_recipe("adam-bs64-e5"), seed=0)
    identity = config.identity()
    assert "arch_source" not in identity and "dataset_source" not in identity
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    assert config.run_id == hashlib.sha256(text.encode()).hexdigest()[:16]


def test_the_code_hash_is_in_the_run_id_and_the_path_is_not(tmp_path):
    recipe = get_recipe("adam-bs64-e5")
    plan = dict(recipe=recipe, seeds=[0], devices=["cpu"], threads=1)
    one = sweep.plan([f"{write_mynet(tmp_path / 'a', 16)}:MyNet"], "synthetic", **plan)[0]
    origin = json.loads(one.arch_source)
    assert origin["path"] == str(tmp_path / "a" / "models.py")
    assert origin["sha256"] == hashlib.sha256((tmp_path / "a/models.py").read_bytes()).hexdigest()
    same = sweep.plan([f"{write_mynet(tmp_path / 'b', 16)}:MyNet"], "synthetic", **plan)[0]
    assert same.run_id == one.run_id  # the same code elsewhere is the same run
    edited = sweep.plan([f"{write_mynet(tmp_path / 'a', 24)}:MyNet"], "synthetic", **plan)[0]
    assert edited.run_id != one.run_id
    assert RunConfig.from_json(edited.to_json()) == edited


def test_the_dataset_hash_is_in_the_run_id(tmp_path):
    from tests.usercode_helpers import write_npz

    recipe = get_recipe("adam-bs64-e5")
    plan = dict(recipe=recipe, seeds=[0], devices=["cpu"], threads=1)
    first = sweep.plan(["slp"], str(write_npz(tmp_path / "d.npz", seed=1)), **plan)[0]
    assert first.dataset == "d.npz" and json.loads(first.dataset_source)["sha256"]
    assert datasets.get_dataset_info("d.npz").num_classes == 4
    second = sweep.plan(["slp"], str(write_npz(tmp_path / "d.npz", seed=2)), **plan)[0]
    assert second.run_id != first.run_id
