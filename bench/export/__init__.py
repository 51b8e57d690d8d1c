"""Step 7, export: the results where users already look, read from the store (and, for a
suite's MLflow parent run, the report).

Holds the MLflow export (:mod:`.to_mlflow`: each stored run an MLflow run, a parent run per
suite holding its report, idempotent by run id), the TensorBoard export
(:mod:`.to_tensorboard`: a run folder per run, per-epoch scalars and HParams), ``bench run
--track mlflow``'s event sink (:mod:`.track`), Parquet files (:mod:`.files`), what the
exporters take from each stored run (:mod:`.runs`) and the optional extras they need
(:mod:`.extras`: ``archbench[mlflow]``, ``[tensorboard]``, ``[parquet]``; a missing one is one
line naming the install command).

Imports: :mod:`bench.config`, :mod:`bench.data`, :mod:`bench.store`, :mod:`bench.sweep` (the
trackers a study may name), :mod:`bench.report`.
Face: :func:`export_mlflow`, :func:`export_tensorboard`, :func:`tracked`,
:class:`MlflowTracker`, :func:`write_parquet`, :func:`require`, :class:`MissingExtra`,
:data:`TRACKERS`.
"""

from bench.export.extras import MissingExtra, require
from bench.export.files import write_parquet
from bench.export.to_mlflow import MlflowExport, default_tracking_uri, export_mlflow
from bench.export.to_tensorboard import TensorboardExport, export_tensorboard
from bench.export.track import TRACKERS, MlflowTracker, tracked

__all__ = [
    "TRACKERS",
    "MissingExtra",
    "MlflowExport",
    "MlflowTracker",
    "TensorboardExport",
    "default_tracking_uri",
    "export_mlflow",
    "export_tensorboard",
    "require",
    "tracked",
    "write_parquet",
]
