"""Whether a results store can be used, checked before anything relies on it.

- :func:`check_file`, :func:`check_header`: the database file is an SQLite database of the
  size its header states (an empty, garbage or truncated file is refused, and not touched).
- :func:`check_pages`: SQLite's ``PRAGMA quick_check`` finds no damaged page; run when a store
  is opened for writing, so ``bench run`` refuses a damaged store before it trains anything.
- :func:`check_writable`: the directory and the database file can be written (``bench run``);
  readers open the database read-only (:func:`connect_readonly`) and need no write access.
- :func:`check_schema`: the store has every column archbench ever wrote (a store without
  ``runs.test_acc`` is damaged), and, for writing, was not written by a newer archbench
  (``meta.schema_version`` above this one's; such a store is still read).
- :func:`store_error`: what an SQLite (or pandas SQL) error met while using a store becomes:
  one line naming the file, what is wrong and what to do.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import pandas as pd

from bench.config import StoreError
from bench.store.schema import BUSY_TIMEOUT_MS, SCHEMA_VERSION, TABLE_COLUMNS, required_columns

DAMAGE = ("malformed", "disk i/o error", "corrupt")
READ_ONLY = ("readonly", "read-only", "unable to open")
DB_ERRORS = (sqlite3.DatabaseError, pd.errors.DatabaseError)


class NewerStoreError(StoreError):
    """A store written by a newer archbench: read, but not written (:func:`check_schema`)."""


def salvage_hint(path: Path) -> str:
    return (
        f"copy its readable rows into a new store with `bench results --results "
        f"{path.parent} --salvage NEW_DIR`, or restore it from a backup"
    )


def check_file(path: Path) -> None:
    """Refuse an empty database file before SQLite opens it (SQLite would take it for a
    new database). The file is only looked at with ``stat``: opening and closing it here
    would drop the locks SQLite holds on it in this process."""
    if path.stat().st_size == 0:
        raise StoreError(
            f"{path} is empty (0 bytes): not a results store; move it aside (bench run then "
            f"starts a new store there) or restore it from a backup"
        )


def check_header(path: Path) -> None:
    """Refuse a database file that is not SQLite (garbage, overwritten) or shorter than its
    header says (truncated), before anything reads or writes its tables (through a
    connection of its own that never writes)."""
    try:
        with contextlib.closing(connect_readonly(path)) as conn:
            _check_header(conn, path)
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            raise StoreError(
                f"{path} is not an SQLite database (garbage or overwritten): not a results "
                f"store; restore it from a backup or move it aside"
            ) from None
        raise store_error(path, exc) from exc


def _check_header(conn: sqlite3.Connection, path: Path) -> None:
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            raise
        # damaged: read the header itself to say whether the file was cut short (only now,
        # as closing a file of the database drops the locks SQLite holds on it)
        with open(path, "rb") as handle:
            header = handle.read(100)
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big") if header[24:28] == header[92:96] else 0
        if pages * page_size <= path.stat().st_size:
            raise
    wal = Path(f"{path}-wal")
    size = path.stat().st_size
    if not (wal.exists() and wal.stat().st_size) and size < pages * page_size:
        raise StoreError(
            f"{path} is truncated ({size} bytes; its header says {pages * page_size}); "
            f"{salvage_hint(path)}"
        )


def check_pages(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a store with damaged pages (``PRAGMA quick_check``: page structure, not the
    contents of indexes; fast)."""
    try:
        problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
    except DB_ERRORS as exc:
        problems = [str(exc)]
    if problems != ["ok"]:
        first = " ".join(problems[0].split())[:200]
        hint = salvage_hint(path)
        raise StoreError(f"results store {path} is damaged ({first}); nothing was written: {hint}")


def check_schema(conn: sqlite3.Connection, path: Path, *, writing: bool) -> None:
    """Refuse (one line) a store that lacks a column every archbench store has, and, when
    ``writing``, one whose ``meta.schema_version`` is newer than this archbench writes; a
    newer store is read as far as its tables and columns allow (extra ones are ignored)."""
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        columns = {
            table: {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            for table in TABLE_COLUMNS
            if table in tables
        }
        version = None
        if "meta" in tables:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = row[0] if row else None
    except DB_ERRORS as exc:
        raise store_error(path, exc) from exc
    missing = [
        f"{table}.{name}"
        for table, have in columns.items()
        for name in required_columns(table)
        if name not in have
    ]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise StoreError(
            f"results store {path} is damaged: it lacks column(s) {shown}, which every "
            f"archbench store has; restore it from a backup, or copy what it holds into a new "
            f"store with `bench results --results {path.parent} --salvage NEW_DIR`"
        )
    if version is None:
        return
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise StoreError(
            f"results store {path} is damaged: its schema version is {version!r}, not a "
            f"number; {salvage_hint(path)}"
        ) from None
    if writing and number > SCHEMA_VERSION:
        from bench import __version__

        raise NewerStoreError(
            f"results store {path} was written by a newer archbench (store schema version "
            f"{number}; archbench {__version__} writes version {SCHEMA_VERSION}) and is left "
            f"as it is: upgrade archbench to record runs there, or give --results another "
            f"directory (bench results and bench report read it as far as they can)"
        )


def check_writable(directory: Path, path: Path) -> None:
    """Refuse (one line) a store ``bench run`` could not write: the directory (for the
    checkpoints, the write-ahead log) and the database file both need write access."""
    where = (
        directory
        if directory.exists()
        else next((p for p in directory.parents if p.exists()), Path("."))
    )
    blocked = [p for p in (where, path) if p.exists() and not os.access(p, os.W_OK)]
    if blocked:
        raise StoreError(
            f"results store {directory} is read-only ({blocked[0]} cannot be written): "
            f"bench run records runs there and needs write access; give it write access or "
            f"use --results with another directory (bench results and bench report read it "
            f"as it is)"
        )


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A connection that never writes. A store that could be written is opened as usual
    with ``PRAGMA query_only`` (sharing the write-ahead log with writers, as any reader);
    one that cannot (a read-only file or directory) is opened with ``mode=ro``, and as
    immutable when SQLite cannot even make its shared-memory file (a read-only directory
    with no write-ahead log left behind: no writer can be changing it)."""
    timeout = BUSY_TIMEOUT_MS / 1000
    path = Path(path)
    if all(os.access(p, os.W_OK) for p in (path, path.parent)):
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        conn.execute("PRAGMA query_only = ON")
        return conn
    uri = path.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=timeout, isolation_level=None)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        wal = Path(f"{path}-wal")
        if not _is_read_only(exc) or (wal.exists() and wal.stat().st_size > 0):
            raise
    return sqlite3.connect(
        f"{uri}?mode=ro&immutable=1", uri=True, timeout=timeout, isolation_level=None
    )


def _is_read_only(exc: BaseException) -> bool:
    return any(word in str(exc).lower() for word in READ_ONLY)


def store_error(path: Path, exc: BaseException) -> StoreError:
    """The one-line error for an SQLite error met while using the store at ``path``."""
    text = str(exc)
    if text.startswith("Execution failed on sql"):  # pandas: keep SQLite's own reason
        text = text.rpartition(": ")[2]
    reason = " ".join(text.split())[:200]
    lowered = reason.lower()
    if "not a database" in lowered:
        return StoreError(
            f"{path} is not an SQLite database ({reason}): not a results store, or "
            f"overwritten; restore it from a backup or move it aside"
        )
    if any(word in lowered for word in DAMAGE):
        return StoreError(f"results store {path} is damaged ({reason}); {salvage_hint(path)}")
    if _is_read_only(exc):
        return StoreError(
            f"results store {path} cannot be written ({reason}): bench run needs write access "
            f"to {path.parent}; use --results with a writable directory"
        )
    if "no such table" in lowered:
        return StoreError(
            f"{path} is an SQLite database but not an archbench results store ({reason}); "
            f"point --results at a directory bench run wrote"
        )
    return StoreError(f"results store {path}: {reason}")
