"""The fast end of a process (``bench.config.exiting.exit_now``, how the ``bench`` command and
the process executor's children end): the exit status given, what the process printed
delivered, its atexit handlers run, and a running thread that is not a daemon waited for, as
Python's own exit would."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import bench.config.exiting

MODULE = Path(bench.config.exiting.__file__)


def ending(tmp_path: Path, body: str, **popen) -> subprocess.CompletedProcess:
    """``body`` run in a fresh interpreter with ``exit_now`` loaded from its file (only the
    standard library: no second of torch imports); its output captured unless ``popen``
    says otherwise."""
    script = f"""
        import atexit, importlib.util, sys, threading, time
        spec = importlib.util.spec_from_file_location("exiting", {str(MODULE)!r})
        exiting = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(exiting)
        folder = {str(tmp_path)!r}
    """
    source = textwrap.dedent(script) + textwrap.dedent(body)
    popen = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen}
    return subprocess.run([sys.executable, "-c", source], text=True, timeout=60, **popen)


def test_the_status_the_output_and_the_atexit_handlers(tmp_path):
    done = ending(
        tmp_path,
        """
        atexit.register(lambda: open(folder + "/atexit", "w").write("ran"))
        print("a line, then a partial one", end="")
        print("to stderr", file=sys.stderr, end="")
        exiting.exit_now(3)
        """,
    )
    assert done.returncode == 3
    assert done.stdout == "a line, then a partial one" and done.stderr == "to stderr"
    assert (tmp_path / "atexit").read_text() == "ran"


def test_a_thread_that_is_not_a_daemon_is_waited_for(tmp_path):
    done = ending(
        tmp_path,
        """
        def late():
            time.sleep(0.3)
            open(folder + "/thread", "w").write("finished")

        threading.Thread(target=late).start()
        exiting.exit_now(4)
        """,
    )
    assert done.returncode == 4
    assert (tmp_path / "thread").read_text() == "finished"


def test_output_whose_reader_is_gone_is_no_error(tmp_path):
    """``bench results | head -1``: what is left to print has nowhere to go; the status stays
    the command's."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is flushed
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    try:
        body = 'print("rows", end="")\nexiting.exit_now(0)\n'
        done = ending(tmp_path, body, stdout=write, env=buffered)
    finally:
        os.close(write)
    assert done.returncode == 0 and done.stderr == ""
