"""Ending a process that has done its work, without Python's teardown.

A process that has imported torch spends about a second after its last line in Python's
teardown (every module torch, pandas and matplotlib loaded is freed, then the C++ libraries'
static destructors run), a second in which it still holds a core. The ``bench`` command and
the child processes of ``--executor process`` and ``--jobs`` have written everything by then:
:func:`exit_now` does what that teardown does that matters to them (the ``atexit`` handlers:
multiprocessing's children, Ray's connection, logging, temporary folders; the standard
streams flushed) and ends the process at once. Where a thread that is not a daemon still runs
(user code may start one, and Python waits for it), the normal exit is kept.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn


def exit_now(code: int) -> NoReturn:
    """End this process with exit status ``code``: ``atexit`` handlers run and the standard
    streams are flushed first; the interpreter's teardown is skipped (see the module)."""
    current = threading.current_thread()
    if any(t is not current and not t.daemon and t.is_alive() for t in threading.enumerate()):
        sys.exit(code)  # Python's exit waits for that thread; so does this one
    atexit._run_exitfuncs()  # what sys.exit would run, in the same order
    for stream in (sys.stdout, sys.stderr):
        # a reader gone (`bench results | head`), a stream closed: nothing more to show
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
