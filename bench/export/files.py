"""Tables as files other tools read: Parquet (``bench results --format parquet --out FILE``)."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from bench.data import idx
from bench.export.extras import require


def write_parquet(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write ``frame`` to the Parquet file ``path`` (pyarrow; through a temporary file, so an
    existing file is replaced whole or not at all); ``pandas.read_parquet`` reads it back
    with the same columns, types and values."""
    require("parquet")
    buffer = io.BytesIO()
    frame.to_parquet(buffer, engine="pyarrow", index=False)
    idx.write_atomic(Path(path), buffer.getvalue())
    return Path(path)
