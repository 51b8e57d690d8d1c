"""The results store's schema: its tables and columns, and what brings an older store up to
date (write-ahead logging, columns added since it was written). Every store archbench ever
wrote opens with this schema: columns are only ever added, never renamed or removed.

``meta.schema_version`` says which schema wrote a store: a store with a higher version than
:data:`SCHEMA_VERSION` (a newer archbench) is read but never written. The columns of
:func:`required_columns` were in every store archbench ever wrote; one that lacks any of them
is damaged (or not archbench's), while the later columns (:data:`ADDED_COLUMNS`) and tables
(:data:`ADDED_TABLES`) may be missing from an older store and read as empty."""

from __future__ import annotations

import sqlite3
import time

DB_NAME = "archbench.sqlite"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 60_000

RUN_COLUMNS = {
    # identity and outcome
    "run_id": "TEXT PRIMARY KEY",
    "status": "TEXT NOT NULL",
    "message": "TEXT",
    "label": "TEXT",
    "name": "TEXT",  # the variant's name (--name; also in config_json)
    # config, denormalized for queries (config_json holds all of it)
    "arch": "TEXT NOT NULL",
    "arch_kwargs": "TEXT",
    "dataset": "TEXT",
    "recipe": "TEXT",
    "seed": "INTEGER",
    "device": "TEXT",
    "dtype": "TEXT",
    "optimizer": "TEXT",
    "lr": "REAL",
    "batch_size": "INTEGER",
    "epochs": "INTEGER",
    "loader": "TEXT",
    "seed_parallel": "INTEGER",
    "deterministic": "INTEGER",
    "config_json": "TEXT NOT NULL",
    # model facts
    "model_key": "TEXT",
    "params": "INTEGER",
    "trainable_params": "INTEGER",
    "mult_adds": "INTEGER",
    # final numbers (last epoch) and validation-selected best epoch
    "epochs_completed": "INTEGER",
    "train_loss": "REAL",
    "train_acc": "REAL",
    "val_loss": "REAL",
    "val_acc": "REAL",
    "test_loss": "REAL",
    "test_acc": "REAL",
    "best_epoch": "INTEGER",
    "best_val_acc": "REAL",
    "test_acc_at_best": "REAL",
    "n_train": "INTEGER",
    "n_val": "INTEGER",
    "n_test": "INTEGER",
    # cost
    "time_data_s": "REAL",
    "time_train_s": "REAL",
    "time_eval_s": "REAL",
    "time_total_s": "REAL",
    "parallel_seeds": "INTEGER",  # seeds trained together (1: alone); times are shares
    "images_per_s": "REAL",
    "peak_mem_bytes": "INTEGER",
    "peak_mem_kind": "TEXT",
    "time_to_target_json": "TEXT",
    # the conditions training was timed under (bench/train/timing.py) and the verdict
    "cpu_s": "REAL",  # process CPU time (user + sys) while training
    "cpu_wall_s": "REAL",  # wall time of that same stretch
    "cpu_util": "REAL",  # cpu_s / (cpu_wall_s x threads)
    "load1_start": "REAL",
    "load1_end": "REAL",
    "runnable_start": "INTEGER",  # runnable threads of other processes
    "runnable_end": "INTEGER",
    "others_training": "INTEGER",  # other archbench processes training beside it
    "slot_wait_s": "REAL",
    "timing": "TEXT",  # clean | contended (NULL: recorded before archbench measured it)
    "timing_reason": "TEXT",
    # environment (env_json holds all of it)
    "device_name": "TEXT",
    "threads": "INTEGER",
    "torch_version": "TEXT",
    "archbench_version": "TEXT",
    "git_commit": "TEXT",
    "hostname": "TEXT",
    "env_json": "TEXT",
    "traceback": "TEXT",
    "checkpoint": "TEXT",
    "arch_code": "TEXT",  # user code: the class and what it uses in its file (size-limited)
    "started_at": "TEXT",
    "finished_at": "TEXT",
}

HISTORY_COLUMNS = {
    "run_id": "TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE",
    "epoch": "INTEGER NOT NULL",
    "train_loss": "REAL",
    "train_acc": "REAL",
    "val_loss": "REAL",
    "val_acc": "REAL",
    "test_loss": "REAL",
    "test_acc": "REAL",
    "lr": "REAL",
    "train_s": "REAL",
    "eval_s": "REAL",
    "cum_train_s": "REAL",
    "images_per_s": "REAL",
}

MODEL_COLUMNS = {
    "model_key": "TEXT PRIMARY KEY",
    "arch": "TEXT NOT NULL",
    "arch_kwargs": "TEXT",
    "input_shape": "TEXT",
    "total_params": "INTEGER",
    "trainable_params": "INTEGER",
    "mult_adds": "INTEGER",
    "summary": "TEXT",
}


SUITE_RUN_COLUMNS = {
    "suite": "TEXT NOT NULL",
    "run_id": "TEXT NOT NULL",
    "step": "TEXT NOT NULL",  # "main" (the suite's own configs) or "lr-retrain"
}

LR_RANGE_COLUMNS = {
    "test_id": "TEXT NOT NULL",
    "suite": "TEXT",
    "arch": "TEXT NOT NULL",
    "dataset": "TEXT",
    "seed": "INTEGER",
    "device": "TEXT",
    "config_json": "TEXT NOT NULL",  # the base config; each point replaces its recipe's lr
    "train_images": "INTEGER",
    "lr": "REAL NOT NULL",
    "status": "TEXT",
    "message": "TEXT",
    "train_loss": "REAL",
    "val_loss": "REAL",
    "val_acc": "REAL",
    "train_s": "REAL",
    "chosen": "INTEGER NOT NULL",
    "rule": "TEXT",
    "started_at": "TEXT",
}

EVALUATION_COLUMNS = {
    "run_id": "TEXT NOT NULL",
    "name": "TEXT NOT NULL",  # e.g. "test", "test_rot+15"
    "n": "INTEGER",
    "loss": "REAL",
    "acc": "REAL",
    "confusion_json": "TEXT",  # rows: true class, columns: predicted class
    "predictions_json": "TEXT",  # the predicted class of each image, in test-set order
    "computed_at": "TEXT",
}

ADAPTIVE_COLUMNS = {
    "study_id": "TEXT PRIMARY KEY",  # a hash of the settings and the planned run ids
    "suite": "TEXT",
    "settings_json": "TEXT NOT NULL",  # min_seeds, max_seeds, margin_pp, alpha
    "models_json": "TEXT NOT NULL",  # {model name: [run id of seed 0, seed 1, ...]}
    "created_at": "TEXT",
}


def create_table(name: str, columns: dict[str, str], extra: str = "") -> str:
    body = ",\n  ".join(f"{col} {kind}" for col, kind in columns.items())
    return f"CREATE TABLE IF NOT EXISTS {name} (\n  {body}{extra}\n)"


SCHEMA = [
    create_table("runs", RUN_COLUMNS),
    create_table("history", HISTORY_COLUMNS, ",\n  PRIMARY KEY (run_id, epoch)"),
    create_table("models", MODEL_COLUMNS),
    # no foreign keys: replacing a run must keep its suite memberships
    create_table("suite_runs", SUITE_RUN_COLUMNS, ",\n  PRIMARY KEY (suite, run_id, step)"),
    create_table("lr_range", LR_RANGE_COLUMNS, ",\n  PRIMARY KEY (test_id, lr)"),
    create_table("evaluations", EVALUATION_COLUMNS, ",\n  PRIMARY KEY (run_id, name)"),
    create_table("adaptive", ADAPTIVE_COLUMNS),
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
    "CREATE INDEX IF NOT EXISTS runs_by_arch ON runs (arch, dataset, recipe)",
]


TABLE_COLUMNS = {
    "runs": RUN_COLUMNS,
    "history": HISTORY_COLUMNS,
    "models": MODEL_COLUMNS,
    "suite_runs": SUITE_RUN_COLUMNS,
    "lr_range": LR_RANGE_COLUMNS,
    "evaluations": EVALUATION_COLUMNS,
    "adaptive": ADAPTIVE_COLUMNS,
}


# What stores gained after the first archbench wrote one (an older store may lack them).
ADDED_TABLES = ("suite_runs", "lr_range", "evaluations", "adaptive")
ADDED_COLUMNS = {
    "runs": (
        "parallel_seeds",
        "cpu_s",
        "cpu_wall_s",
        "cpu_util",
        "load1_start",
        "load1_end",
        "runnable_start",
        "runnable_end",
        "others_training",
        "slot_wait_s",
        "timing",
        "timing_reason",
        "name",
        "arch_code",
    ),
}


def required_columns(table: str) -> list[str]:
    """The columns of ``table`` that every store archbench wrote has (none for a table added
    later: such a table, when present, was created whole)."""
    if table in ADDED_TABLES:
        return []
    added = ADDED_COLUMNS.get(table, ())
    return [name for name in TABLE_COLUMNS[table] if name not in added]


def use_wal(conn: sqlite3.Connection) -> None:
    """Switch the database file to write-ahead logging (it stays so, for every later
    connection). Changing the mode needs a moment alone with the file, and SQLite reports a
    competing writer at once instead of waiting its busy timeout: so wait here."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def add_missing_columns(conn: sqlite3.Connection) -> None:
    """Bring a store written by an older archbench up to date: add the columns it lacks
    (as plain nullable columns; SQLite cannot add key columns later)."""
    for table, columns in TABLE_COLUMNS.items():
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind.split()[0]}")
