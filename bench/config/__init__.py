"""Step 1, config: what a run is, before any data or training.

Holds recipes and run configs with their run ids (:mod:`.runs`), the fast-path policy
(:mod:`.fastpath`), the one place that seeds and sets determinism flags (:mod:`.seeding`), the
environment a run records (:mod:`.environment`), archbench's error types (:mod:`.errors`), the
events a study reports its progress with (:mod:`.events`), the user's own architectures and
plugins with the hash that identifies them (:mod:`.usercode`) and the labels that name models by
what differs between them (:mod:`.naming`), the fast end of a process that has done its
work (:mod:`.exiting`), and the faces of later steps that import their heavier names at
first use (:mod:`.faces`).

Imports: ``architectures`` only (no other step of ``bench``).
Face: :class:`RunConfig`, :class:`Recipe`, :func:`get_recipe`, :data:`RECIPES`, and the errors
:class:`ArchbenchError`, :class:`UsageError`, :class:`DataError`, :class:`StoreError`; the module
:mod:`.events`.
"""

from bench.config import events
from bench.config.errors import ArchbenchError, DataError, StoreError, UsageError
from bench.config.runs import RECIPES, Recipe, RunConfig, get_recipe

__all__ = [
    "RECIPES",
    "ArchbenchError",
    "DataError",
    "Recipe",
    "RunConfig",
    "StoreError",
    "UsageError",
    "events",
    "get_recipe",
]
