"""Step 4, store: every run in a SQLite database, plus its checkpoint.

Holds the schema and its migrations (:mod:`.schema`) and the store itself with the tables it
loads as pandas DataFrames (:mod:`.results`).

Imports: :mod:`bench.config`, :mod:`bench.data`, :mod:`bench.train` (what a run result holds).
Face: :class:`ResultsStore`, :class:`Tables`, :func:`load`, :data:`DB_NAME`.
"""

from bench.store.results import DB_NAME, ResultsStore, Tables, load

__all__ = ["DB_NAME", "ResultsStore", "Tables", "load"]
