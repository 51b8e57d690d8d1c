"""Step 7, command line: ``bench`` and its subcommands.

Holds the parser and :func:`main` (:mod:`.main`, its argument types in :mod:`.argtypes`),
``bench run`` (:mod:`.run_command`) and the other subcommands (:mod:`.commands`).

Imports: every earlier step. Nothing imports it but ``bench.__main__`` and the ``bench`` script.
Face: :func:`main`.
"""

from bench.cli.main import main

__all__ = ["main"]
