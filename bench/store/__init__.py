"""Step 4, store: every run in a SQLite database, plus its checkpoint.

Holds the schema and its migrations (:mod:`.schema`), the store itself with the tables it
loads as pandas DataFrames (:mod:`.results`, the rows of a run in :mod:`.rows`; every stored
field of a run in one row, for ``bench results --columns``, in :mod:`.columns`), the checks
that a store is usable (:mod:`.health`), the filter of the runs a question is about
(:mod:`.filters`) and the recovery of work a damaged store could not
take (:mod:`.salvage`: side files, their import, salvaging readable rows).

Imports: :mod:`bench.config`, :mod:`bench.data`, :mod:`bench.train` (what a run result holds).
Face: :class:`ResultsStore`, :class:`Tables`, :func:`load`, :func:`select_columns`,
:data:`DB_NAME`, :func:`keep_unrecorded`, :func:`import_unrecorded`, :func:`salvage`,
:class:`NewerStoreError`, :class:`RunFilter` (which runs a question is about:
``--dataset``, ``--arch``, ``--where``, ``--since``).
"""

from bench.store.columns import select_columns
from bench.store.filters import RunFilter
from bench.store.health import NewerStoreError
from bench.store.results import DB_NAME, ResultsStore, Tables, load
from bench.store.salvage import import_unrecorded, keep_unrecorded, salvage

__all__ = [
    "DB_NAME",
    "NewerStoreError",
    "ResultsStore",
    "RunFilter",
    "Tables",
    "import_unrecorded",
    "keep_unrecorded",
    "load",
    "salvage",
    "select_columns",
]
