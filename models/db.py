"""Opening the shared database safely for many users: an SQLite file here, or a PostgreSQL
database through models.pg (``open_database`` takes either a path or a postgresql:// URL).

Every process opens the file in WAL mode with a long busy timeout, so that several staff can
read while one writes; writing transactions begin IMMEDIATE so that two writers never
deadlock on a lock upgrade. The database directory is shared by a group: files are created
group read-write with no access for others, and a database others can read is refused.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from peewee import Database, DatabaseProxy, SqliteDatabase

from kyusho.errors import KyushoError
from models import pg

BUSY_TIMEOUT_MS = 15_000

database = DatabaseProxy()
_OPEN: dict[str, Database] = {}


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


BULK_CACHE_KIB = 512_000


@contextmanager
def bulk_cache() -> Iterator[None]:
    """A larger SQLite page cache (512 MB) for this connection while a bulk write runs.

    An import of millions of rows adds to indexes in key order, not row order (a receipt's
    date); with the usual 32 MB most of those pages are read back from the OS for every
    batch. The memory is the import process's own and is given back when it ends."""
    if is_postgres():
        yield
        return
    database.execute_sql(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        database.execute_sql(f"PRAGMA cache_size = {dict(_pragmas())['cache_size']}")


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


def is_postgres(db: Database | DatabaseProxy | None = None) -> bool:
    """Whether ``db`` (default: the database the models are bound to) is PostgreSQL."""
    target = db.obj if isinstance(db, DatabaseProxy) else db
    if target is None:
        target = database.obj
    return isinstance(target, pg.KyushoPostgres)


def open_database(path: str | Path, *, create: bool = False, login: str | None = None) -> Database:
    """Open (and bind the models to) the SQLite database at ``path``, or the PostgreSQL
    database a ``postgresql://`` URL names, connecting as ``login`` there.

    ``create`` allows a new file; otherwise a missing file is an error, so a typo in a path
    never silently creates an empty database.
    """
    if pg.is_url(path):
        return _open_postgres(str(path), login)
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


def _open_postgres(url: str, login: str | None) -> Database:
    """One database object per (URL, login): its connections are that role's, per thread."""
    key = f"{url}\x00{login or ''}"
    db = _OPEN.get(key)
    if db is None:
        db = pg.connect(url, login)
        try:
            db.connect(reuse_if_open=True)
        except Exception as exc:  # noqa: BLE001 - the server's refusal, in the user's words
            raise pg.connection_error(url, exc) from None
        _OPEN[key] = db
    database.initialize(db)
    return db


def forget_postgres(url: str) -> None:
    """Close and forget every connection object of ``url`` (before the database is dropped)."""
    for key in [k for k in _OPEN if k.split("\x00", 1)[0] == url]:
        _OPEN.pop(key).close()


_local = threading.local()


class WriterBusy(KyushoError):
    """Another process has held the writer's turn for longer than the busy timeout."""

    def __init__(self, message: str, holder: dict[str, object] | None = None) -> None:
        self.holder = holder or {}
        super().__init__(message)


def lock_wait_ms() -> int:
    """The longest a writer waits for its turn, in ms: the busy timeout (read at each wait).

    Read at call time rather than once, so a process (or test) that scales BUSY_TIMEOUT_MS
    down scales this wait with it.
    """
    return BUSY_TIMEOUT_MS


def _holder_record() -> bytes:
    from kyusho.clock import SYSTEM_CLOCK  # the one sanctioned wall clock
    from kyusho.identity import os_login

    record = {
        "pid": os.getpid(),
        "login": os_login(),
        "since": SYSTEM_CLOCK.now().isoformat(timespec="seconds"),
    }
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


def read_holder(lock_path: str | Path) -> dict[str, object]:
    """Who holds (or last held) the writer's turn, as written into the lock file."""
    try:
        with open(lock_path, "rb") as f:
            text = f.read(4096).decode("utf-8", "replace").strip()
        value = json.loads(text) if text else {}
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _printable(value: object, limit: int) -> str:
    """Text from the (group-writable) lock file, safe to show: no control characters."""
    return "".join(c for c in str(value or "") if c.isprintable())[:limit]


def _busy_message(holder: dict[str, object], waited_ms: int) -> str:
    pid = holder.get("pid")
    if isinstance(pid, int) and not isinstance(pid, bool):
        who = f"pid {pid}"
        login = _printable(holder.get("login"), 64)
        if login:
            who += f", {login}"
        since = _printable(holder.get("since"), 40)
        if since:
            shown = since.replace("T", " ")[:19]
            who += f" が {shown} から保持"
        else:
            who += " が保持"
    else:
        who = "保持しているプロセスは不明"
    return (
        f"他の書き込みが終わらないため保存していません（{who}、{Decimal(waited_ms) / 1000:f} 秒待ちました）。"
        "しばらく待ってもう一度、または管理者に連絡してください"
        "（止まったままのプロセスなら管理者がそのプロセスを終了させます）"
    )


def _lock_fd(lock_path: str) -> int:
    fds: dict[str, int] = _local.__dict__.setdefault("fds", {})
    fd = fds.get(lock_path)
    if fd is None:
        with group_umask():
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o660)
        fds[lock_path] = fd
    return fd


def _poll(event: threading.Event, timeout_ms: int) -> bool:
    """Whether ``event`` is set within ``timeout_ms`` milliseconds, measured by sleeping.

    A timed ``Event.wait`` sleeps until an absolute deadline on a clock the C library reads;
    where that clock is shifted (faketime, a clock step), it can sleep for days. Short
    relative sleeps against ``time.monotonic`` cannot.
    """
    deadline = time.monotonic_ns() + timeout_ms * 1_000_000
    pause_ns = 1_000_000  # 1 ms, doubling up to 20 ms
    while not event.is_set():
        left_ns = deadline - time.monotonic_ns()
        if left_ns <= 0:
            return event.is_set()
        time.sleep(min(pause_ns, left_ns) / 1e9)
        pause_ns = min(pause_ns * 2, 20_000_000)
    return True


def _acquire(lock_path: str, timeout_ms: int) -> int:
    """Take the exclusive flock on ``lock_path`` within ``timeout_ms`` ms, or WriterBusy.

    The wait blocks in the kernel (in a helper thread), so a waiter wakes the moment the
    holder is done and writers keep taking turns; only the give-up is timed. A helper that
    outlives its waiter releases the lock as soon as it gets it, and owns (closes) its fd.
    """
    fd = _lock_fd(lock_path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        pass
    got = threading.Event()
    guard = threading.Lock()
    gave_up = False

    def wait() -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            return
        with guard:
            if gave_up:
                os.close(fd)  # too late: closing releases the lock
                return
            got.set()

    threading.Thread(target=wait, name="kyusho-writer-turn", daemon=True).start()
    if _poll(got, timeout_ms):
        return fd
    with guard:
        if got.is_set():
            return fd
        gave_up = True
    # the fd now belongs to the helper thread; this thread opens a new one next time
    _local.__dict__.get("fds", {}).pop(lock_path, None)
    holder = read_holder(lock_path)
    raise WriterBusy(_busy_message(holder, timeout_ms), holder)


@contextmanager
def _writer_turn() -> Iterator[None]:
    """Wait for this process's turn to write, in a queue the kernel keeps (flock).

    SQLite's own busy handler retries with sleeps of up to 100 ms, so under sustained
    contention a writer can lose every race until its busy timeout ends in "database is
    locked". A blocking flock on ``<db>-lock`` wakes a waiter the moment the holder is done,
    so writers take turns; BEGIN IMMEDIATE then finds the database free. The wait is bounded
    by the busy timeout: a holder that is stopped (kill -STOP) or hung yields WriterBusy,
    naming the pid and login it wrote into the lock file, instead of blocking every writer
    forever. Reentrant per thread.
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
    lock_path = f"{path}-lock"
    fd = _acquire(lock_path, lock_wait_ms())
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, _holder_record(), 0)
    except OSError:
        pass  # who holds the turn is a courtesy for the message; the lock is what matters
    _local.depth = 1
    try:
        yield
    finally:
        _local.depth = 0
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        fcntl.flock(fd, fcntl.LOCK_UN)


@contextmanager
def write_transaction(db: Database | DatabaseProxy | None = None) -> Iterator[None]:
    """A writing transaction: wait for the writer's turn, then BEGIN IMMEDIATE.

    It always runs on the database the models are bound to (``db`` must be that one), so the
    transaction and the writes inside it can never be on different connections. The turn is
    released only after COMMIT (or ROLLBACK).
    """
    if db is not None and db is not database and db is not database.obj:
        raise RuntimeError("write_transaction on a database the models are not bound to")
    if is_postgres():
        if getattr(_local, "depth", 0):
            with database.atomic():  # a savepoint inside this thread's turn
                yield
            return
        _local.depth = 1
        try:
            with pg.writer_turn(database.obj, lock_wait_ms(), _busy):
                yield
        finally:
            _local.depth = 0
        return
    with _writer_turn(), database.atomic("IMMEDIATE"):
        yield


def in_write_transaction() -> bool:
    """Whether this thread is inside a writing transaction (its writer's turn)."""
    return bool(getattr(_local, "depth", 0))


def _busy(holder: dict[str, object], waited_ms: int) -> WriterBusy:
    return WriterBusy(_busy_message(holder, waited_ms), holder)


def data_version(db: Database | DatabaseProxy | None = None) -> int:
    """SQLite's data_version: changes when another connection commits (for live refresh)."""
    return (db or database).execute_sql("PRAGMA data_version").fetchone()[0]


class ChangeWatcher(pg.VersionWatcher):
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
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        self._conn.close()
