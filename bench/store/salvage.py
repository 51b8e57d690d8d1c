"""Work that a damaged store cannot take is never lost.

- :func:`keep_unrecorded`: a run that trained but could not be recorded (the store became
  damaged, the disk filled up) is written to a side file, ``DIR/unrecorded/RUN_ID.json``
  (or the temporary directory when ``DIR`` cannot be written): its rows, its suite membership
  and its checkpoint (the checkpoint's path, or the checkpoint itself when it could not be
  written to ``DIR/checkpoints``).
- :func:`import_unrecorded`: ``bench results --results DIR --record-unrecorded FILE ...``
  records such side files in a (repaired) store and removes them.
- :func:`salvage`: ``bench results --results DAMAGED --salvage NEW`` copies every row SQLite
  can still read from a damaged store (table by table, in rowid order, stepping over damaged
  pages) into a new store, with the checkpoints of the runs it copied.
"""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.config import StoreError
from bench.data import idx
from bench.store.results import ResultsStore
from bench.store.rows import record_rows
from bench.store.schema import DB_NAME, TABLE_COLUMNS
from bench.train import RunResult

FORMAT = "archbench-unrecorded-run"
MAX_SKIP = 1 << 40  # how far past a damaged page salvage looks for readable rows


def keep_unrecorded(
    store: ResultsStore,
    result: RunResult,
    error: BaseException,
    *,
    force: bool = False,
    label: str | None = None,
    suite: str | None = None,
    step: str = "main",
) -> Path:
    """Write ``result`` to a side file (see the module docstring); returns its path. Its
    checkpoint goes to ``DIR/checkpoints`` (where the store did not write it already), or
    into the side file itself when it cannot be written there."""
    checkpoint = store.checkpoint_path(result.run_id)
    have_checkpoint = False
    if result.checkpoint is not None:
        try:
            idx.write_atomic(checkpoint, result.checkpoint)
            have_checkpoint = True
        except OSError:
            pass
    record = {
        "format": FORMAT,
        "version": 1,
        "store": str(store.directory.resolve()),
        "error": " ".join(str(error).split())[:500],
        "force": force,
        "suite": suite,
        "step": step,
        "rows": record_rows(result, checkpoint if result.checkpoint is not None else None, label),
        "checkpoint_path": str(checkpoint.resolve()) if have_checkpoint else None,
        "checkpoint_b64": (
            base64.b64encode(result.checkpoint).decode()
            if result.checkpoint is not None and not have_checkpoint
            else None
        ),
    }
    data = json.dumps(record, indent=1).encode()
    name = f"{result.run_id}.json"
    for folder in (store.directory / "unrecorded", Path(tempfile.gettempdir()) / "archbench"):
        try:
            idx.write_atomic(folder / name, data)
            return folder / name
        except OSError:
            continue
    raise StoreError(f"run {result.run_id} could not be recorded ({error}) nor kept in a file")


def read_side_file(path: Path) -> dict:
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read side file {path}: {exc}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise StoreError(f"{path} is not a run kept by bench run (no {FORMAT!r} format mark)")
    return record


def import_unrecorded(store: ResultsStore, paths: list[Path]) -> list[str]:
    """Record the runs kept in side files in ``store`` (their checkpoints copied into its
    ``checkpoints/``) and remove each file once its run is in; one line per file."""
    records = [(Path(path), read_side_file(path)) for path in paths]  # all read first
    lines = []
    for path, record in records:
        rows = record["rows"]
        run = rows["run"]
        if run.get("checkpoint"):
            target = store.checkpoint_path(run["run_id"])
            if record.get("checkpoint_b64"):
                idx.write_atomic(target, base64.b64decode(record["checkpoint_b64"]))
            elif record.get("checkpoint_path") and Path(record["checkpoint_path"]).is_file():
                source = Path(record["checkpoint_path"])
                if source.resolve() != target.resolve():
                    idx.write_atomic(target, source.read_bytes())
            if not target.is_file():
                run["checkpoint"] = None  # lost with its store: the numbers are still kept
        written = store.record_rows(rows, record["force"], record["suite"], record["step"])
        path.unlink()
        what = f"{run['arch']} seed={run['seed']} ({run['run_id']})"
        lines.append(
            f"imported {what} from {path}"
            if written
            else f"{what} was already complete in {store.directory}; kept that one ({path} removed)"
        )
    return lines


@dataclass
class Salvage:
    """What :func:`salvage` copied: rows per table, and the tables it could not read whole."""

    copied: dict[str, int] = field(default_factory=dict)
    damaged: dict[str, str] = field(default_factory=dict)  # table -> first error
    checkpoints: int = 0

    def describe(self) -> str:
        counts = ", ".join(f"{n} {table}" for table, n in self.copied.items())
        lost = (
            "; rows lost to damage in " + ", ".join(sorted(self.damaged))
            if self.damaged
            else "; every row was readable"
        )
        return f"copied {counts} and {self.checkpoints} checkpoints{lost}"


def salvage(source_dir: Path, dest_dir: Path) -> Salvage:
    """Copy the readable rows of the store in ``source_dir`` (damaged or not; it is only
    read) into a new store in ``dest_dir``."""
    source, dest_path = Path(source_dir) / DB_NAME, Path(dest_dir) / DB_NAME
    if not source.is_file():
        raise StoreError(f"no results store to salvage at {source}")
    if dest_path.exists():
        raise StoreError(f"{dest_path} exists; --salvage writes a new store: name a new directory")
    uri = source.resolve().as_uri()
    wal = Path(f"{source}-wal")
    # reads, never writes: immutable unless a write-ahead log holds rows not yet in the file
    mode = "ro" if wal.exists() and wal.stat().st_size else "ro&immutable=1"
    conn = sqlite3.connect(f"{uri}?mode={mode}", uri=True)
    try:
        outcome = Salvage()
        tables = {}
        for table in TABLE_COLUMNS:
            tables[table] = _readable_rows(conn, table, outcome)
    finally:
        conn.close()
    if not any(tables.values()):
        reason = next(iter(outcome.damaged.values()), "no rows")
        raise StoreError(f"nothing could be read from {source} ({reason}); nothing to salvage")
    runs = {row["run_id"] for row in tables["runs"]}
    tables["history"] = [row for row in tables["history"] if row.get("run_id") in runs]
    store = ResultsStore(dest_dir)
    with store.transaction() as out:
        for table, rows in tables.items():
            for row in rows:
                columns = [c for c in row if c in TABLE_COLUMNS[table]]
                out.execute(
                    f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' * len(columns))})",
                    [row[c] for c in columns],
                )
            outcome.copied[table] = len(rows)
    for row in tables["runs"]:
        checkpoint = row.get("checkpoint")
        if checkpoint and (Path(source_dir) / checkpoint).is_file():
            shutil.copy2(Path(source_dir) / checkpoint, Path(dest_dir) / checkpoint)
            outcome.checkpoints += 1
    return outcome


def _readable_rows(conn: sqlite3.Connection, table: str, outcome: Salvage) -> list[dict]:
    """The rows of ``table`` SQLite can read, in rowid order: after a damaged page, reading
    resumes at the next rowid that can be reached (looking ever further ahead)."""
    rows: list[dict] = []
    last, skip = None, 0
    while True:
        start = -(1 << 63) if last is None else last + skip
        try:
            query = f"SELECT rowid, * FROM {table} WHERE rowid > ? ORDER BY rowid"
            cursor = conn.execute(query, (start,))
            names = [d[0] for d in cursor.description]
            for values in cursor:
                last, skip = values[0], 0
                rows.append(dict(zip(names[1:], values[1:], strict=True)))
            return rows
        except sqlite3.DatabaseError as exc:
            if "no such table" in str(exc):
                return rows
            outcome.damaged.setdefault(table, str(exc))
            last, skip = (0 if last is None else last), max(1, skip * 2)
            if skip > MAX_SKIP:
                return rows
