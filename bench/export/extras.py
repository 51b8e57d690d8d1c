"""The optional extras the exporters need, and the one line that names the one to install."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from bench.config import ArchbenchError

# extra (pip install 'archbench[EXTRA]') -> the module it provides, and what needs it
EXTRAS = {
    "mlflow": ("mlflow", "MLflow export"),
    "tensorboard": ("tensorboard", "TensorBoard export"),
    "parquet": ("pyarrow", "Parquet output"),
}


class MissingExtra(ArchbenchError):
    """An optional dependency is not installed: exit 2, naming the extra that installs it."""

    exit_code = 2


def require(extra: str) -> ModuleType:
    """The module of ``extra`` (imported), or :class:`MissingExtra` naming the install line."""
    module, what = EXTRAS[extra]
    if extra == "mlflow":  # archbench sends nothing anywhere; MLflow asks first (opt-out)
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(
            f"{what} needs {module}, which is not installed ({exc.msg}): "
            f"pip install 'archbench[{extra}]'"
        ) from None
