"""Opening the shared SQLite database safely for many users.

Every process opens the file in WAL mode with a long busy timeout, so that several staff can
read while one writes; writing transactions begin IMMEDIATE so that two writers never
deadlock on a lock upgrade. The database directory is shared by a group: files are created
group read-write with no access for others, and a database others can read is refused.
"""

from __future__ import annotations

import fcntl
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from peewee import DatabaseProxy, SqliteDatabase

from kyusho.errors import KyushoError

BUSY_TIMEOUT_MS = 15_000

database = DatabaseProxy()
_OPEN: dict[str, SqliteDatabase] = {}


class DatabasePermissionError(KyushoError):
    """The database file is readable by others, or cannot be opened by this user."""


def _pragmas() -> list[tuple[str, object]]:
    return [
        ("journal_mode", "wal"),
        ("busy_timeout", BUSY_TIMEOUT_MS),
        ("foreign_keys", 1),
        ("synchronous", "normal"),
        ("cache_size", -32_000),  # 32 MB page cache per connection
        ("temp_store", "memory"),
    ]


def check_permissions(path: Path) -> None:
    """Refuse a database (or its WAL/SHM files) that others can read or write."""
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-lock")):
        try:
            mode = candidate.stat().st_mode
        except FileNotFoundError:
            continue
        if mode & (stat.S_IROTH | stat.S_IWOTH | stat.S_IXOTH):
            raise DatabasePermissionError(
                f"データベース {candidate} は他のユーザーから読み書きできます。"
                f"次のコマンドで権限を直してください: chmod o-rwx {path}*"
            )


@contextmanager
def group_umask() -> Iterator[None]:
    """Create files group read-write, no access for others (umask 007) while inside."""
    old = os.umask(0o007)
    try:
        yield
    finally:
        os.umask(old)


def open_database(path: str | Path, *, create: bool = False) -> SqliteDatabase:
    """Open (and bind the models to) the SQLite database at ``path``.

    ``create`` allows a new file; otherwise a missing file is an error, so a typo in a path
    never silently creates an empty database.
    """
    path = Path(path).expanduser()
    key = str(path.resolve())
    if key in _OPEN and path.exists():
        # one database object per file: every session of this process and the models share
        # its (thread-local) connections, so a transaction and its writes are on one connection
        check_permissions(path)
        database.initialize(_OPEN[key])
        return _OPEN[key]
    if not create and not path.exists():
        raise KyushoError(
            f"データベース {path} がありません。`kyusho init --db {path}` で作成してください。"
        )
    is_new = not path.exists()
    if not is_new:
        check_permissions(path)
    with group_umask():
        db = SqliteDatabase(
            str(path),
            pragmas=_pragmas(),
            timeout=BUSY_TIMEOUT_MS // 1000,
            check_same_thread=False,
        )
        db.connect(reuse_if_open=True)
    if is_new:
        # SQLite creates files 0644 whatever the umask; the WAL and SHM files copy this mode
        os.chmod(path, 0o660)
    database.initialize(db)
    _OPEN[key] = db
    return db


_local = threading.local()


@contextmanager
def _writer_turn() -> Iterator[None]:
    """Wait for this process's turn to write, in a queue the kernel keeps (flock).

    SQLite's own busy handler retries with sleeps of up to 100 ms, so under sustained
    contention a writer can lose every race until its busy timeout ends in "database is
    locked". A blocking flock on ``<db>-lock`` wakes a waiter the moment the holder is done,
    so writers take turns; BEGIN IMMEDIATE then finds the database free. Reentrant per thread.
    """
    depth = getattr(_local, "depth", 0)
    path = getattr(database.obj, "database", None)
    if depth or not path or path == ":memory:":
        _local.depth = depth + 1
        try:
            yield
        finally:
            _local.depth -= 1
        return
    fds: dict[str, int] = _local.__dict__.setdefault("fds", {})
    lock_path = f"{path}-lock"
    fd = fds.get(lock_path)
    if fd is None:
        with group_umask():
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o660)
        fds[lock_path] = fd
    fcntl.flock(fd, fcntl.LOCK_EX)
    _local.depth = 1
    try:
        yield
    finally:
        _local.depth = 0
        fcntl.flock(fd, fcntl.LOCK_UN)


@contextmanager
def write_transaction(db: SqliteDatabase | DatabaseProxy | None = None) -> Iterator[None]:
    """A writing transaction: wait for the writer's turn, then BEGIN IMMEDIATE.

    It always runs on the database the models are bound to (``db`` must be that one), so the
    transaction and the writes inside it can never be on different connections. The turn is
    released only after COMMIT (or ROLLBACK).
    """
    if db is not None and db is not database and db is not database.obj:
        raise RuntimeError("write_transaction on a database the models are not bound to")
    with _writer_turn(), database.atomic("IMMEDIATE"):
        yield


def data_version(db: SqliteDatabase | DatabaseProxy | None = None) -> int:
    """SQLite's data_version: changes when another connection commits (for live refresh)."""
    return (db or database).execute_sql("PRAGMA data_version").fetchone()[0]


class ChangeWatcher:
    """Notices commits by other connections (other users' processes) through data_version.

    It keeps one connection of its own, because data_version is only comparable on the same
    connection. Call ``changed()`` from one worker thread at a time.
    """

    def __init__(self, path: str | Path) -> None:
        import sqlite3

        self._conn = sqlite3.connect(
            f"file:{Path(path)}?mode=ro",
            uri=True,
            check_same_thread=False,
            timeout=BUSY_TIMEOUT_MS // 1000,
        )
        self._last = self._version()

    def _version(self) -> int:
        return self._conn.execute("PRAGMA data_version").fetchone()[0]

    def changed(self) -> bool:
        now = self._version()
        if now != self._last:
            self._last = now
            return True
        return False

    def close(self) -> None:
        self._conn.close()
