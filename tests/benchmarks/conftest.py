"""pytest-benchmark setup: torch and device details in every saved run's machine info."""

from __future__ import annotations

import torch

from bench.config import environment


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["torch"] = {
        "version": torch.__version__,
        "cuda": torch.version.cuda,
        "threads": torch.get_num_threads(),
        "cpu_model": environment.cpu_model(),
        "cuda_devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
    }
