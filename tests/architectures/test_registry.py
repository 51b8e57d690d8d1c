from __future__ import annotations

import re
import subprocess
import sys

import pytest
import torch
import torchinfo
from torch import nn

import architectures
from architectures import registry
from bench.config.usercode import is_builtin
from bench.train import model_facts

# The figures the sources quote, asserted exactly.
QUOTED_PARAMS = {
    "mlp32": 25_450,
    "tinycnn": 4_266,
    "cnn": 26_698,
    "strongcnn": 467_818,
    "mlp256": 203_530,
}

REQUIRED = [
    "mlp32",
    "tinycnn",
    "cnn",
    "strongcnn",
    "mlp256",
    "mlp256_128",
    "mnistcnn",
    "mlp512x2",
    "slp",
    "lenet5",
    "digits_slp",
    "digits_mlp",
]


def test_every_source_architecture_is_registered():
    assert set(REQUIRED) <= set(architectures.list_archs())


@pytest.mark.parametrize("name", sorted(QUOTED_PARAMS))
def test_quoted_parameter_counts(name):
    model = architectures.create(name)
    assert sum(p.numel() for p in model.parameters()) == QUOTED_PARAMS[name]
    assert model_facts(name).total_params == QUOTED_PARAMS[name]


@pytest.mark.parametrize("name", architectures.list_archs())
def test_builds_runs_forward_and_backward(name):
    info = architectures.get_info(name)
    torch.manual_seed(0)
    model = architectures.create(name)
    x = torch.randn(4, *info.input_shape)
    logits = model(x)
    assert logits.shape == (4, info.num_classes)
    loss = nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 3]))
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", architectures.list_archs())
def test_counts_equal_torchinfo(name):
    info = architectures.get_info(name)
    model = architectures.create(name)
    stats = torchinfo.summary(model, input_size=(1, *info.input_shape), verbose=0)
    facts = model_facts(name)
    assert facts.total_params == stats.total_params == sum(p.numel() for p in model.parameters())
    assert facts.trainable_params == facts.total_params
    assert facts.mult_adds == stats.total_mult_adds > 0
    assert name in facts.key and "Total params" in facts.summary


def test_mult_adds_follow_torchinfos_convention():
    # torchinfo counts one multiply-add per parameter (bias included) per output position.
    assert model_facts("mlp32").mult_adds == 25_450
    conv1 = (4 * 9 + 4) * 28 * 28
    conv2 = (8 * 4 * 9 + 8) * 14 * 14
    assert model_facts("tinycnn").mult_adds == conv1 + conv2 + 392 * 10 + 10


def test_exact_layer_structure_of_the_recap_models():
    assert [type(m).__name__ for m in architectures.create("tinycnn")] == [
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Flatten",
        "Linear",
    ]
    strong = [type(m).__name__ for m in architectures.create("strongcnn")]
    assert strong.count("Conv2d") == 4 and strong.count("Dropout") == 3
    dropouts = [m.p for m in architectures.create("strongcnn") if isinstance(m, nn.Dropout)]
    assert dropouts == [0.25, 0.25, 0.5]


def test_configurable_mlp_takes_any_hidden_list():
    model = architectures.create("mlp", hidden=[64, 32, 16])
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (784, 64),
        (64, 32),
        (32, 16),
        (16, 10),
    ]
    default = architectures.create("mlp")
    fixed = architectures.create("mlp512x2")
    assert [p.shape for p in default.parameters()] == [p.shape for p in fixed.parameters()]


def test_create_drops_none_kwargs_and_refuses_unknown_ones():
    assert isinstance(architectures.create("mlp", hidden=None), nn.Sequential)
    with pytest.raises(TypeError, match="takes no argument 'hidden'"):
        architectures.create("mlp32", hidden=[8])


def test_create_builds_fresh_models_on_cpu():
    a, b = architectures.create("cnn"), architectures.create("cnn")
    assert a is not b
    assert all(p.device.type == "cpu" for p in a.parameters())


def test_natural_sort_and_wildcards():
    names = architectures.list_archs("mlp*")
    assert names.index("mlp32") < names.index("mlp256") < names.index("mlp512x2")
    assert architectures.list_archs("digits_*") == ["digits_mlp", "digits_slp"]
    assert architectures.list_archs(["mlp3?", "tiny*"]) == ["mlp32", "tinycnn"]
    assert "mlp" not in architectures.list_archs("mlp*", exclude=["mlp", "mlp2*"])
    assert architectures.list_archs("mlp*", exclude="mlp*") == []


def test_unknown_name_lists_close_matches():
    with pytest.raises(architectures.UnknownArchitectureError) as info:
        architectures.create("mlp33")
    message = str(info.value)
    assert "mlp32" in message.split("valid names")[0]
    assert "\n" not in message


@pytest.fixture
def scratch_registry(monkeypatch):
    """A copy of the registry, built-ins loaded, that this test may add to."""
    registry.load_built_in()
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


def test_duplicate_names_are_refused(scratch_registry):
    with pytest.raises(architectures.DuplicateArchitectureError, match="mlp32"):

        @architectures.register(family="mlp", description="x", source="test")
        def mlp32():  # same name as the registered one
            return nn.Linear(1, 1)

    assert architectures.get_info("mlp32").factory.__module__ == "architectures.mlp"


def test_integer_arguments_are_integers_not_truncated_floats_or_booleans():
    for hidden, shown in (([2.5], "[2.5]: 2.5"), ([True], "[true]: true"), ("ab", '"ab"')):
        with pytest.raises(architectures.ArgumentError, match=re.escape(f"got {shown}")):
            architectures.create("mlp", hidden=hidden)  # main: 2 units, 1 unit
    with pytest.raises(architectures.ArgumentError, match=r"positive integers, got \[0\]"):
        architectures.create("mlp", hidden=[0])
    assert architectures.create("mlp", hidden=(8,))[1].out_features == 8


def test_declared_int_arguments_of_any_factory_are_checked(scratch_registry):
    @architectures.register(family="test", description="x", source="test")
    def typed(
        width: int = 4,
        sizes: list[int] | None = None,
        scale=1,
        num_classes: int = 10,
    ) -> nn.Module:
        return nn.Sequential(nn.Flatten(), nn.Linear(784, num_classes))

    with pytest.raises(
        architectures.ArgumentError, match=r"width must be an integer \(declared int\), got 4\.0"
    ):
        architectures.create("typed", width=4.0)
    with pytest.raises(architectures.ArgumentError, match="sizes must be a list of integers"):
        architectures.create("typed", sizes=[1, False])
    architectures.create("typed", width=3, sizes=None, scale=0.5)  # undeclared: not checked


def test_a_model_above_the_parameter_limit_is_refused_before_it_is_allocated(scratch_registry):
    @architectures.register(family="test", description="x", source="test")
    def wide(width: int = 8, num_classes: int = 10) -> nn.Module:
        return nn.Sequential(nn.Flatten(), nn.Linear(784, width), nn.Linear(width, num_classes))

    assert architectures.check_size("wide") == 785 * 8 + 9 * 10
    assert architectures.check_size("strongcnn") == QUOTED_PARAMS["strongcnn"]
    # 31.8 GB of float32 if it were built for real: counted on the meta device instead
    with pytest.raises(architectures.ArgumentError) as refused:
        architectures.check_size("wide", width=10**7)
    assert str(refused.value) == (
        "architecture 'wide' with width=10000000 has 7,950,000,010 parameters, more than "
        "archbench's limit of 1,000,000,000 (MAX_PARAMETERS); use smaller layers"
    )
    with pytest.raises(architectures.ArgumentError, match=r"has 7\.95e\+26 parameters"):
        architectures.create("mlp", hidden=[10**24])  # its own count, before any tensor


NAME_TAKEN_PROBE = """
import architectures, sys
from torch import nn
assert "architectures.mlp" not in sys.modules  # importing the registry loads no family
try:
    @architectures.register(family="mlp", description="x", source="plugin")
    def mlp32():
        return nn.Linear(1, 1)
except architectures.DuplicateArchitectureError as exc:
    print(exc)
print(len(architectures.list_archs()), architectures.get_info("mlp32").factory.__module__)
"""


@pytest.mark.slow  # a fresh interpreter that imports torch
def test_a_plugin_cannot_take_a_built_in_name_before_the_registry_is_first_read():
    """The built-in families are imported at the registry's first use, not with the package
    (``bench --help`` needs no torch): a plugin registering ``mlp32`` before anything looked
    an architecture up is refused all the same, and the built-in one stays."""
    done = subprocess.run(
        [sys.executable, "-c", NAME_TAKEN_PROBE], capture_output=True, text=True, timeout=120
    )
    refused, listed = done.stdout.strip().splitlines()
    assert "'mlp32'" in refused and "clashes with the one already registered" in refused
    built_in = [n for n in architectures.list_archs() if is_builtin(architectures.get_info(n))]
    assert listed == f"{len(built_in)} architectures.mlp", done.stderr
