"""What `bench run` plans from what a user writes: full-batch requests, --exclude patterns,
wildcards in study files, and built-in architectures on datasets with other class counts.
Planning only: nothing is trained."""

from __future__ import annotations

import json

import pytest

from bench.cli.main import build_parser
from bench.cli.run_command import study_from_args
from bench.config import UsageError
from bench.sweep.study import Study
from tests.usercode_helpers import clean_registries, write, write_npz  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("clean_registries")


def test_full_batch_is_asked_for_from_the_command_line_the_api_and_a_study_file(tmp_path):
    study = Study(archs=("mlp32",), dataset="synthetic", batch_size="full")
    (config,) = study.plan().configs
    assert config.recipe.batch_size is None  # full-batch gradient descent
    assert Study(archs=("mlp32",), dataset="synthetic").plan().configs[0].recipe.batch_size == 64
    args = build_parser().parse_args(["run", "--arch", "mlp32", "--batch-size", "full"])
    assert study_from_args(args).plan().configs[0].recipe.batch_size is None
    with pytest.raises(UsageError, match="batch"):
        Study(archs=("mlp32",), dataset="synthetic", batch_size="half")


def test_an_exclude_pattern_that_matches_nothing_is_refused():
    with pytest.raises(UsageError, match=r"--exclude pattern 'mlp_typo\*' matches no") as err:
        Study(archs=("mlp*",), exclude=("mlp_typo*",), dataset="synthetic").plan()
    assert "valid names:" in str(err.value) and "mlp32" in str(err.value)
    kept = Study(archs=("mlp*",), exclude=("mlp256*",), dataset="synthetic").plan().configs
    assert "mlp256" not in {c.arch for c in kept} and "mlp32" in {c.arch for c in kept}


def test_wildcards_in_a_study_file_are_the_names_they_match(tmp_path):
    path = write(
        tmp_path / "mlps.toml",
        'name = "mlps"\narchs = ["mlp3*", "cnn", "mlp32"]\ndataset = "synthetic"\n',
    )
    archs = [c.arch for c in Study(suite_file=path).plan().configs]
    assert archs == ["mlp32", "cnn"]  # each name once, in the order written
    write(path, 'name = "typo"\narchs = ["mpl*"]\ndataset = "synthetic"\n')
    with pytest.raises(UsageError, match=r"'archs' pattern 'mpl\*' matches no architecture"):
        Study(suite_file=path).plan()


def test_a_built_in_model_gets_as_many_outputs_as_the_dataset_has_classes(tmp_path):
    data = write_npz(tmp_path / "three.npz", classes=3)
    (config,) = Study(archs=("mlp32",), dataset=str(data)).plan().configs
    assert json.loads(config.arch_kwargs) == {"num_classes": 3}
    (mnist,) = Study(archs=("mlp32",), dataset="synthetic").plan().configs
    assert json.loads(mnist.arch_kwargs) == {}  # ten classes: the run id is as before
