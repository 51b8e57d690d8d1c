"""Step 7, command line: ``bench`` and its subcommands.

Holds the parser, :func:`main` and the ``bench`` command that runs it (:func:`command`, in
:mod:`.main`; its argument types in :mod:`.argtypes`),
``bench run``: its options, one per field of :class:`bench.sweep.Study` (:mod:`.options`), the
translation into a study and the printed outcome (:mod:`.run_command`), the display of its
events (:mod:`.progress`), and the other subcommands (:mod:`.commands`). Only this step parses
arguments and prints.

Imports: every earlier step. Nothing imports it but ``bench.__main__`` and the ``bench`` script.
Face: :func:`main` (a caller in Python gets the exit status) and :func:`command`.
"""

from bench.cli.main import command, main

__all__ = ["command", "main"]
