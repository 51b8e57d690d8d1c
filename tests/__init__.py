"""archbench's tests (see docs/development.md). Under pytest-xdist two or more test processes
share the cores: their OpenMP threads sleep while they wait for work instead of spinning
(``OMP_WAIT_POLICY=PASSIVE``, read when torch loads, which is after this), or each process's
spinning threads take the cores the others need and a small training step gets many times
slower. It changes no number: only how idle threads wait."""

import os

if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
