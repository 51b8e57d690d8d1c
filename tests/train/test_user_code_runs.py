"""A run of user code where it executes (a Ray worker, a child process): the file is imported
there and its hash checked; other code is an ``error`` run naming both hashes."""

from __future__ import annotations

import json

import pytest

from architectures import registry
from bench.config import get_recipe
from bench.sweep import sweep
from bench.train import execute_task
from tests.usercode_helpers import clean_registries, write_mynet  # noqa: F401

pytestmark = pytest.mark.usefixtures("clean_registries")


def test_edited_code_at_run_time_is_an_error_naming_both_hashes(tmp_path):
    models = write_mynet(tmp_path, 16)
    recipe = get_recipe("adam-bs64-e5").with_overrides(epochs=1)
    (config,) = sweep.plan([f"{models}:MyNet"], "synthetic", recipe, [0], ["cpu"], threads=1)
    planned = json.loads(config.arch_source)["code_sha256"]  # MyNet's code, not the file's
    write_mynet(tmp_path, 24)
    del registry._REGISTRY["MyNet"]  # as on a worker that has not imported it yet
    (result,) = execute_task([config])
    assert result.status == "error"
    assert planned[:16] in result.message and "differs from the planned run" in result.message
    write_mynet(tmp_path, 16)  # the planned code again: the run goes through
    (result,) = execute_task([config])
    assert result.status == "ok", result.message
