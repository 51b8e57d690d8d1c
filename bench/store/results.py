"""The results store: one SQLite database per results directory, plus checkpoint files.

``DIR/archbench.sqlite`` holds three tables: ``runs`` (one row per run: its config, status,
headline numbers and environment), ``history`` (one row per run and epoch) and ``models``
(torchinfo facts and summary text, once per architecture and input shape). Beside them:
``suite_runs`` (which runs belong to which suite, and as which step: one run can belong to
several suites, since suites share configs), ``lr_range`` (one row per learning rate of each LR
range test), ``evaluations`` (numbers computed later from a run's checkpoint, such as the
accuracy on the rotated test set; deleted when the run is replaced) and ``adaptive`` (each
``--seeds auto`` study: its settings and the run id planned for every model and seed, so the
report can replay its stopping rule). The database runs in
WAL mode; each run is written in one ``BEGIN IMMEDIATE`` transaction when it ends, so a process
killed at any moment leaves either the whole run or nothing, and several processes can write
to one directory at once without losing rows. Final weights go to ``DIR/checkpoints/RUN_ID.pt``
(written atomically before the row that points at them).

:func:`load` returns the tables as pandas DataFrames.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from bench.config import ArchbenchError, RunConfig, StoreError
from bench.data import idx
from bench.store import columns, health
from bench.store.rows import expand_runs, record_rows
from bench.store.schema import (
    ADAPTIVE_COLUMNS,
    BUSY_TIMEOUT_MS,
    DB_NAME,
    EVALUATION_COLUMNS,
    LR_RANGE_COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    SUITE_RUN_COLUMNS,
    TABLE_COLUMNS,
    add_missing_columns,
    use_wal,
)
from bench.train import DONE_STATUSES, RunResult, now

if TYPE_CHECKING:
    from bench.train.lr_range import RangeResult


@dataclass(frozen=True)
class Tables:
    """The tables of a results directory as DataFrames (``runs`` one row per run)."""

    runs: pd.DataFrame
    history: pd.DataFrame
    models: pd.DataFrame
    suite_runs: pd.DataFrame = field(default_factory=lambda: _empty(SUITE_RUN_COLUMNS))
    lr_range: pd.DataFrame = field(default_factory=lambda: _empty(LR_RANGE_COLUMNS))
    evaluations: pd.DataFrame = field(default_factory=lambda: _empty(EVALUATION_COLUMNS))
    adaptive: pd.DataFrame = field(default_factory=lambda: _empty(ADAPTIVE_COLUMNS))

    def full(self, history: bool = False) -> pd.DataFrame:
        """Every stored field of each run in one row (``history``: of each run and epoch):
        the runs table, the suites of each run, its model facts, its config and environment
        flattened (``config.recipe.lr``, ``env.python_version``); what ``bench results
        --columns all`` shows (:mod:`bench.store.columns`)."""
        runs = columns.full_runs(self.runs, self.models, self.suite_runs)
        return columns.full_history(self.history, runs) if history else runs

    def for_suite(self, suite: str) -> Tables:
        """Only the runs (and their history, and the LR range tests) of ``suite``."""
        ids = set(self.suite_runs.run_id[self.suite_runs.suite == suite])
        return dataclasses.replace(
            self.only(ids),
            suite_runs=self.suite_runs[self.suite_runs.suite == suite],
            lr_range=self.lr_range[self.lr_range.suite == suite],
            adaptive=self.adaptive[self.adaptive.suite == suite],
        )

    def only(self, run_ids: Iterable[str]) -> Tables:
        """Only the runs ``run_ids`` (their history, suite memberships and evaluations; the
        LR range tests and ``--seeds auto`` studies as they are)."""
        ids = set(run_ids)
        return dataclasses.replace(
            self,
            runs=self.runs[self.runs.run_id.isin(ids)],
            history=self.history[self.history.run_id.isin(ids)],
            suite_runs=self.suite_runs[self.suite_runs.run_id.isin(ids)],
            evaluations=self.evaluations[self.evaluations.run_id.isin(ids)],
        )


def _empty(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(columns=list(columns))


def _write_schema(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA:
        conn.execute(statement)
    add_missing_columns(conn)
    conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))


def _create_database(path: Path) -> None:
    """Create the database file ``path`` whole: its schema is written to a file of its own
    beside it, which is then linked in under ``path`` only if no other process created the
    store meanwhile. SQLite alone would create ``path`` empty and write it a moment later,
    and a second process starting then would find an empty file (refused as damaged)."""
    temporary = path.with_name(f".{path.name}.new-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with contextlib.closing(sqlite3.connect(temporary, isolation_level=None)) as conn:
            use_wal(conn)
            conn.execute("BEGIN IMMEDIATE")
            _write_schema(conn)
            conn.execute("COMMIT")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process created the store first: use theirs
        except OSError:  # a file system without hard links: let SQLite create it in place
            pass
    finally:
        for leftover in (temporary, *(Path(f"{temporary}{s}") for s in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)


class ResultsStore:
    """A results directory: the SQLite database and the checkpoint files beside it."""

    def __init__(self, directory: Path | str, *, create: bool = True, readonly: bool = False):
        """Open the store of ``directory``: for writing (``create``, the default: the
        directory and database are created when missing, an existing database must pass
        :func:`~bench.store.health.check_pages`), or ``readonly`` (never writes a file; the
        evaluations :meth:`record_evaluation` is given are then kept in memory only).
        Either way a database file that is not SQLite is refused before it is opened."""
        self.directory = Path(directory)
        self.path = self.directory / DB_NAME
        self.readonly = readonly or not create
        self._unsaved_evaluations: list[dict] = []
        if self.path.exists():
            health.check_file(self.path)
            health.check_header(self.path)
        elif self.readonly:
            raise ArchbenchError(
                f"no results in {self.directory} (no {DB_NAME}); run `bench run ... "
                f"--results {self.directory}` first"
            )
        if self.readonly:
            with self.connect() as conn:
                present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
                if "runs" not in present:
                    error = sqlite3.OperationalError("no such table: runs")
                    raise health.store_error(self.path, error)
                health.check_schema(conn, self.path, writing=False)
            return
        health.check_writable(self.directory, self.path)
        existed = self.path.exists()
        if existed:  # checked before anything is written (the checkpoints folder included)
            with self.connect() as conn:
                health.check_pages(conn, self.path)
                health.check_schema(conn, self.path, writing=True)
        (self.directory / "checkpoints").mkdir(parents=True, exist_ok=True)
        if not existed:
            _create_database(self.path)
        with self.connect() as conn:
            use_wal(conn)
        with self.transaction() as conn:  # one process at a time upgrades a store
            _write_schema(conn)

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection (read-only for a read-only store); an SQLite error inside the block
        becomes one :class:`~bench.config.StoreError` line naming the file and the fix."""
        try:
            if self.readonly:
                conn = health.connect_readonly(self.path)
            else:
                conn = sqlite3.connect(
                    self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
                )
            try:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                if not self.readonly:
                    conn.execute("PRAGMA synchronous = NORMAL")
                    conn.execute("PRAGMA foreign_keys = ON")
                yield conn
            finally:
                conn.close()
        except health.DB_ERRORS as exc:
            raise health.store_error(self.path, exc) from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection inside ``BEGIN IMMEDIATE`` (one writer at a time; others wait up to
        the busy timeout): committed when the block ends, rolled back when it raises."""
        if self.readonly:
            raise StoreError(f"results store {self.directory} was opened read-only")
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # a damaged file may refuse it too
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def completed_ids(self) -> set[str]:
        """Run ids whose outcome is final (``ok`` or ``diverged``): a re-run would repeat them."""
        marks = ",".join("?" * len(DONE_STATUSES))
        with self.connect() as conn:
            rows = conn.execute(f"SELECT run_id FROM runs WHERE status IN ({marks})", DONE_STATUSES)
            return {row[0] for row in rows}

    def clean_cpu_utils(self, config: RunConfig, parallel_seeds: int = 1) -> list[float]:
        """``cpu_util`` of the stored clean ``ok`` runs of ``config`` with any seed (trained in
        groups of the same size): what this config reaches when it has its cores."""
        key = {**config.identity(), "seed": None}
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT config_json, cpu_util FROM runs WHERE status = 'ok' AND timing = 'clean'"
                " AND cpu_util IS NOT NULL AND arch = ? AND COALESCE(parallel_seeds, 1) = ?",
                (config.arch, parallel_seeds),
            ).fetchall()
        return [util for text, util in rows if {**json.loads(text), "seed": None} == key]

    def checkpoint_path(self, run_id: str) -> Path:
        return self.directory / "checkpoints" / f"{run_id}.pt"

    def record(
        self,
        result: RunResult,
        *,
        force: bool = False,
        label: str | None = None,
        suite: str | None = None,
        step: str = "main",
    ) -> bool:
        """Write one run (its row, history and model facts, and its membership of ``suite``
        as ``step``) in one transaction.

        An existing row for the same run id is replaced unless it is already complete and
        ``force`` is off (another process finished it first): then only the suite membership
        is added and False is returned.
        """
        checkpoint = None
        if result.checkpoint is not None:
            checkpoint = self.checkpoint_path(result.run_id)
            idx.write_atomic(checkpoint, result.checkpoint)
        return self.record_rows(record_rows(result, checkpoint, label), force, suite, step)

    def record_rows(
        self, rows: dict, force: bool = False, suite: str | None = None, step: str = "main"
    ) -> bool:
        """:meth:`record` for a run already turned into rows (:func:`record_rows`: ``run``,
        ``history``, ``model``), e.g. read back from a side file."""
        run_id = rows["run"]["run_id"]
        with self.transaction() as conn:
            existing = conn.execute(
                "SELECT status FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
            if suite is not None:
                _add_to_suite(conn, suite, [run_id], step)
            if existing and existing[0] in DONE_STATUSES and not force:
                return False
            conn.execute("DELETE FROM history WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM evaluations WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            _insert(conn, "runs", rows["run"])
            for record in rows["history"]:
                _insert(conn, "history", {"run_id": run_id, **record})
            if rows.get("model") is not None:
                _insert(conn, "models", rows["model"], verb="INSERT OR IGNORE")
        return True

    def add_to_suite(self, suite: str, run_ids: Iterable[str], step: str = "main") -> None:
        """Record that runs already in the store belong to ``suite`` (as ``step``)."""
        with self.transaction() as conn:
            _add_to_suite(conn, suite, list(run_ids), step)

    def record_lr_range(self, result: RangeResult, suite: str | None) -> str:
        """Write every point of an LR range test in one transaction (replacing an earlier
        test with the same id); returns the test id."""
        config, test = result.config, result.test_id
        with self.transaction() as conn:
            conn.execute("DELETE FROM lr_range WHERE test_id = ?", (test,))
            for point in result.points:
                row = {
                    "test_id": test,
                    "suite": suite,
                    "arch": config.arch,
                    "dataset": config.dataset,
                    "seed": config.seed,
                    "device": config.device,
                    "config_json": config.to_json(),
                    "train_images": result.train_images,
                    **dataclasses.asdict(point),
                    "chosen": int(point.chosen),
                    "rule": result.rule,
                    "started_at": result.started_at,
                }
                _insert(conn, "lr_range", row)
        return test

    def lr_range_points(self, test_id: str) -> pd.DataFrame:
        """The stored points of one LR range test (empty when it has not run)."""
        with self.connect() as conn:
            return pd.read_sql_query(
                "SELECT * FROM lr_range WHERE test_id = ? ORDER BY lr", conn, params=(test_id,)
            )

    def record_evaluation(
        self,
        run_id: str,
        name: str,
        *,
        n: int,
        loss: float,
        acc: float,
        confusion: list,
        predictions: list,
    ) -> None:
        """Store (or replace) one evaluation of a run's checkpoint."""
        row = {
            "run_id": run_id,
            "name": name,
            "n": n,
            "loss": loss,
            "acc": acc,
            "confusion_json": json.dumps(confusion),
            "predictions_json": json.dumps(predictions),
            "computed_at": now(),
        }
        if self.readonly:  # a read-only store: kept for this process only
            self._unsaved_evaluations.append(row)
            return
        with self.transaction() as conn:
            _insert(conn, "evaluations", row, verb="INSERT OR REPLACE")

    def record_adaptive(
        self, study_id: str, suite: str | None, settings: dict, models: dict[str, list[str]]
    ) -> None:
        """Record an adaptive (``--seeds auto``) study once (the same study again: kept)."""
        row = {
            "study_id": study_id,
            "suite": suite,
            "settings_json": json.dumps(settings, sort_keys=True),
            "models_json": json.dumps(models),
            "created_at": now(),
        }
        with self.transaction() as conn:
            _insert(conn, "adaptive", row, "INSERT OR IGNORE")

    def runs(self) -> pd.DataFrame:
        """The runs table alone, with the time-to-accuracy columns expanded."""
        with self.connect() as conn:
            return expand_runs(_read_runs(conn))

    def evaluations(self) -> pd.DataFrame:
        """The stored checkpoint evaluations (one table, without reading the others), and
        those a read-only store was given."""
        with self.connect() as conn:
            stored = _read_table(conn, "evaluations", "SELECT * FROM evaluations")
        if not self._unsaved_evaluations:
            return stored
        unsaved = pd.DataFrame(self._unsaved_evaluations, columns=list(EVALUATION_COLUMNS))
        return unsaved if stored.empty else pd.concat([stored, unsaved], ignore_index=True)

    def tables(self) -> Tables:
        with self.connect() as conn:
            runs = _read_runs(conn)
            history = _read_table(conn, "history", "SELECT * FROM history ORDER BY run_id, epoch")
            models = _read_table(conn, "models", "SELECT * FROM models ORDER BY model_key")
            extra = {
                name: _read_table(conn, name, f"SELECT * FROM {name}")
                for name in ("suite_runs", "lr_range", "evaluations", "adaptive")
            }
        if self._unsaved_evaluations:
            extra["evaluations"] = self.evaluations()
        return Tables(expand_runs(runs), history, models, **extra)


def _read_table(conn: sqlite3.Connection, table: str, query: str) -> pd.DataFrame:
    """A table as a DataFrame with every column of the current schema: a store written by
    an older archbench (opened read-only, so not brought up to date) lacks some columns,
    or the whole table; they read as empty."""
    present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    if table not in present:
        return _empty(TABLE_COLUMNS[table])
    frame = pd.read_sql_query(query, conn)
    for name in TABLE_COLUMNS[table]:
        if name not in frame:
            frame[name] = None
    return frame


def _read_runs(conn: sqlite3.Connection) -> pd.DataFrame:
    return _read_table(
        conn, "runs", "SELECT * FROM runs ORDER BY started_at, arch, seed, device, run_id"
    )


def _insert(conn: sqlite3.Connection, table: str, row: dict, verb: str = "INSERT") -> None:
    columns = ", ".join(row)
    marks = ", ".join("?" * len(row))
    conn.execute(f"{verb} INTO {table} ({columns}) VALUES ({marks})", tuple(row.values()))


def _add_to_suite(conn: sqlite3.Connection, suite: str, run_ids: list[str], step: str) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO suite_runs (suite, run_id, step) VALUES (?, ?, ?)",
        [(suite, run_id, step) for run_id in run_ids],
    )


def load(directory: Path | str = "results") -> Tables:
    """The runs, per-epoch history and model summaries of a results directory as DataFrames
    (read-only: the directory needs no write access).

    >>> tables = load("results")            # doctest: +SKIP
    >>> tables.runs.groupby(["dataset", "model_key"]).test_acc.mean()  # doctest: +SKIP
    """
    return ResultsStore(directory, readonly=True).tables()
