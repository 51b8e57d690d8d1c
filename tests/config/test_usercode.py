"""User code in run configs: the code's hash is part of the run id, built-in configs keep theirs."""

from __future__ import annotations

import hashlib
import json

import pytest

from bench.config import RunConfig, get_recipe, usercode
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


HELPERS = """
import torch
from torch import nn

WIDTH = 16
UNUSED = 3


def hidden(width):
    return width * {factor}


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(x)


class MyNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        size = hidden(WIDTH)
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(784, size), Block(), nn.Linear(size, num_classes)
        )

    def forward(self, x):
        return torch.log_softmax(self.net(x), 1)
{extra}
"""


def plan_mynet(path, factor=1, extra=""):
    from tests.usercode_helpers import write

    write(path, HELPERS.replace("{factor}", str(factor)).replace("{extra}", extra))
    plan = dict(recipe=get_recipe("adam-bs64-e5"), seeds=[0], devices=["cpu"], threads=1)
    return sweep.plan([f"{path}:MyNet"], "synthetic", **plan)[0]


def test_the_identity_is_the_class_and_what_it_uses_not_the_whole_file(tmp_path):
    path = tmp_path / "models.py"
    one = plan_mynet(path)
    origin = json.loads(one.arch_source)
    assert origin["object"] == "MyNet" and len(origin["code_sha256"]) == 64
    unrelated = "\n\nclass Other(nn.Module):\n    pass\n\n\nUNUSED = 4\n"
    other = plan_mynet(path, extra=unrelated)
    assert json.loads(other.arch_source)["sha256"] != origin["sha256"]  # the file changed
    assert other.run_id == one.run_id  # the code of MyNet did not: the same run
    helper = plan_mynet(path, factor=2)  # a helper function MyNet calls changed
    assert helper.run_id != one.run_id


def test_the_closure_holds_helpers_constants_imports_and_decorators():
    text = (
        "import torch\nfrom torch import nn\nSCALE = 2\nOTHER = 1\n\n"
        "def deco(cls):\n    return cls\n\n"
        "def helper(x):\n    return x * SCALE\n\n"
        "@deco\nclass Net(nn.Module):\n    def forward(self, x):\n        return helper(x)\n\n"
        "class Unrelated:\n    value = OTHER\n"
    )
    code = usercode.code_closure(text, "Net")
    assert "SCALE = 2" in code and "def helper" in code and "@deco" in code
    assert "from torch import nn" in code and "def deco" in code
    assert "Unrelated" not in code and "OTHER" not in code and "import torch\n" not in code
    assert usercode.code_closure(text, "missing") is None
    assert usercode.code_closure("def (", "Net") is None


def test_a_worker_refuses_other_code_but_not_an_unrelated_edit(tmp_path):
    path = tmp_path / "models.py"
    config = plan_mynet(path)
    plan_mynet(path, extra="\n\nUNUSED = 5\n")  # the same class: it still runs
    usercode.ensure(config.arch, config.arch_source)
    plan_mynet(path, factor=3)
    with pytest.raises(usercode.CodeMismatchError, match="differs from the planned run"):
        usercode.ensure(config.arch, config.arch_source)


def test_the_code_kept_with_a_run_is_its_closure_and_size_limited(tmp_path, monkeypatch):
    path = tmp_path / "models.py"
    config = plan_mynet(path, extra="\n\nclass Other:\n    pass\n")
    code = usercode.stored_code(config.arch_source)
    assert "class MyNet" in code and "def hidden" in code and "class Other" not in code
    monkeypatch.setattr(usercode, "MAX_CODE_CHARS", 40)
    cut = usercode.stored_code(config.arch_source)
    assert cut.startswith(code[:40]) and "more characters not kept" in cut
    plan_mynet(path, factor=5)  # the file no longer holds that code: nothing to keep
    assert usercode.stored_code(config.arch_source) is None
