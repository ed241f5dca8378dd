"""Rebuild, backup, restore and audit checkpoints (SPEC 5.2, 6.1, 6.2)."""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kyusho.errors import InputError, KyushoError
from kyusho.files import output_path, show_text, user_path
from kyusho.services import projections
from kyusho.services.session import Session
from models import audit
from models.audit import Checkpoint, VerifyResult
from models.db import BUSY_TIMEOUT_MS, group_umask
from models.schema import Claim, LedgerEntry, LimitationEvent, Obligor

REBUILD_BATCH = 200


@dataclass
class RebuildResult:
    claims: int = 0
    ledger_changes: int = 0
    clock_changes: int = 0

    @property
    def changed(self) -> int:
        return self.ledger_changes + self.clock_changes


def rebuild(session: Session, *, write: bool = True, progress=None) -> RebuildResult:
    """Recompute every claim's allocations and clocks from the facts.

    Claims are processed in batches, each in its own short IMMEDIATE transaction, so other
    users keep working while a rebuild runs. With write=False nothing is changed and the
    result counts what differs (0 means the stored projections are exact).
    """
    if write:
        session.require("admin", "再計算")
    result = RebuildResult()
    ids = [c.id for c in Claim.select(Claim.id).order_by(Claim.id)]
    total = len(ids)
    for start in range(0, total, REBUILD_BATCH):
        chunk = ids[start : start + REBUILD_BATCH]
        with session.writing():
            claims = list(Claim.select().where(Claim.id.in_(chunk)))
            entries: dict[int, list[LedgerEntry]] = {c: [] for c in chunk}
            for e in (
                LedgerEntry.select()
                .where(LedgerEntry.claim.in_(chunk))
                .order_by(LedgerEntry.date, LedgerEntry.id)
            ):
                entries[e.claim_id].append(e)
            obligors: dict[int, list[Obligor]] = {c: [] for c in chunk}
            for o in Obligor.select().where(Obligor.claim.in_(chunk)).order_by(Obligor.obligor_no):
                obligors[o.claim_id].append(o)
            events: dict[int, list[LimitationEvent]] = {c: [] for c in chunk}
            for ev in LimitationEvent.select().where(
                LimitationEvent.claim.in_(chunk) & (LimitationEvent.cancelled == False)
            ):  # noqa: E712
                events[ev.claim_id].append(ev)
            for claim in claims:
                result.ledger_changes += projections.recompute_ledger(
                    claim, entries[claim.id], save=write
                )
                receipts = [e for e in entries[claim.id] if e.kind == "receipt" and not e.cancelled]
                result.clock_changes += _clock_changes(
                    claim, obligors[claim.id], receipts, events[claim.id], write
                )
                result.claims += 1
            if write and start + REBUILD_BATCH >= total:
                audit.record(
                    session.login,
                    "rebuild",
                    "database",
                    "all",
                    after={"claims": total, "changed": result.changed},
                    at=session.now(),
                )
        if progress:
            progress("再計算", min(start + REBUILD_BATCH, total), total)
    return result


def _clock_changes(claim, obligors, receipts, events, write: bool) -> int:
    updates = projections.clock_updates(claim, obligors, entries=receipts, events=events)
    if write:
        projections.save_clocks(updates)
    return len(updates)


BACKUP_STEP_PAGES = 4096
"""Pages copied per step (16 MB at 4 KB pages); between steps Ctrl-C is noticed."""

_SQLITE_SIDE = ("-journal", "-wal", "-shm")


def _temporary_in(dest: Path) -> Path:
    """A new, hidden, empty file next to ``dest`` (same file system, so the rename is atomic)."""
    with group_umask():
        fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    return Path(name)


def _remove_quietly(path: Path) -> None:
    for suffix in ("", *_SQLITE_SIDE):
        with contextlib.suppress(OSError):
            os.unlink(f"{path}{suffix}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _move_into_place(tmp: Path, dest: Path, field: str, *, force: bool) -> None:
    """Rename the finished copy to ``dest``; without ``force`` never over a file that
    appeared meanwhile (a hard link fails on an existing name, where a rename would not)."""
    if force:
        os.replace(tmp, dest)
    else:
        try:
            os.link(tmp, dest)
        except FileExistsError:
            raise InputError(
                field,
                f"{show_text(dest)} はすでにあります。上書きするには --force を付けるか、"
                "新しいファイル名を指定してください",
            ) from None
        except OSError as exc:  # a file system without hard links
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            if dest.exists():
                raise InputError(field, f"{show_text(dest)} はすでにあります") from None
            os.replace(tmp, dest)
        else:
            os.unlink(tmp)
    with contextlib.suppress(OSError):  # make the rename itself durable
        _fsync(dest.parent)


@contextlib.contextmanager
def _writing_copy(dest: Path, field: str, *, force: bool) -> Iterator[Path]:
    """A temporary database next to ``dest``, moved into place only when the block ends well.

    On any error or interruption (KeyboardInterrupt included) the temporary file and its
    journal are removed: ``dest`` is either absent (or as it was) or a complete copy.
    """
    try:
        tmp = _temporary_in(dest)
    except OSError as exc:
        raise InputError(
            field, f"{show_text(dest.parent)} に書き込めません（{exc.strerror}）"
        ) from None
    try:
        yield tmp
        for suffix in _SQLITE_SIDE:  # a closed copy has none; never leave one behind
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{tmp}{suffix}")
        os.chmod(tmp, 0o660)  # SQLite creates 0644 whatever the umask; the group must write
        _fsync(tmp)
        _move_into_place(tmp, dest, field, force=force)
    except OSError as exc:
        _remove_quietly(tmp)
        raise KyushoError(
            f"{field}: {show_text(dest)} に書き込めません（{exc.strerror}）"
        ) from None
    except BaseException:
        _remove_quietly(tmp)
        raise


def _copy_snapshot(
    source: sqlite3.Connection,
    tmp: Path,
    progress: Callable[[str, int, int], None] | None,
    *,
    wal: bool,
) -> None:
    """Copy ``source``'s current snapshot into the new file ``tmp``.

    The source holds one read transaction for the whole copy, so every step sees the same
    snapshot: writers in other processes go on (WAL), and the backup never restarts because
    of them, as the incremental backup API does between steps otherwise.
    """
    target = sqlite3.connect(str(tmp), isolation_level=None)
    try:
        source.execute("BEGIN")
        try:
            source.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # the snapshot

            def step(status: int, remaining: int, total: int) -> None:
                if progress:
                    progress("バックアップ", total - remaining, total)

            source.backup(target, pages=BACKUP_STEP_PAGES, progress=step)
        finally:
            source.execute("ROLLBACK")
        if wal:
            target.execute("PRAGMA journal_mode=wal")
        else:
            # a copy is a single file: whatever mode the source was in, no -wal beside it
            target.execute("PRAGMA journal_mode=delete")
    finally:
        target.close()


def backup(
    session: Session,
    dest: Path | str,
    *,
    force: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> Path:
    """Online backup of a consistent snapshot, finished even while others keep writing.

    The copy is written to a temporary file next to ``dest`` and renamed into place, so an
    interrupted or failed backup leaves no partial file under ``dest``.
    """
    dest = output_path(dest, "DEST", force=force, protect=session.protected_files())
    # a connection of its own: its read transaction must not mix with the session's
    source = sqlite3.connect(
        str(session.db_path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
    )
    try:
        with _writing_copy(dest, "DEST", force=force) as tmp:
            _copy_snapshot(source, tmp, progress, wal=False)
    finally:
        source.close()
    return dest


def restore(src: Path | str, dest: Path | str, *, force: bool = False) -> Path:
    """Copy a backup into a database file (a new one, or over one with ``force``)."""
    src = user_path(src, "SRC")
    if src.is_symlink() and not src.exists():
        raise InputError("SRC", f"{show_text(src)} はリンク先のないシンボリックリンクです")
    if src.is_dir():
        raise InputError(
            "SRC", f"{show_text(src)} はフォルダです。バックアップファイルを指定してください"
        )
    if not src.is_file():
        raise InputError("SRC", f"{show_text(src)} がありません")
    dest = output_path(dest, "--to", force=force, protect=[src])
    try:
        source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error:
        raise InputError("SRC", f"{show_text(src)} を開けません") from None
    try:
        try:
            check = source.execute("PRAGMA integrity_check").fetchone()[0]
            version = source.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone()
        except sqlite3.DatabaseError:
            raise InputError(
                "SRC",
                f"{show_text(src)} は kyusho のバックアップ（SQLite データベース）ではありません",
            ) from None
        if check != "ok":
            raise KyushoError(f"{show_text(src)} は壊れています: {check}")
        if version is None:
            raise InputError("SRC", f"{show_text(src)} は kyusho のデータベースではありません")
        with _writing_copy(dest, "--to", force=force) as tmp:
            _copy_snapshot(source, tmp, None, wal=True)
    finally:
        source.close()
    return dest


# --------------------------------------------------------------------------- audit checkpoints


def audit_checkpoint(session: Session) -> str:
    """The chain's current head as one JSON line, to be kept outside the database.

    Appended (by cron, say) to a file the group cannot rewrite, it lets ``audit_verify``
    catch a chain cut or re-hashed later by someone who can write the SQLite file.
    """
    seq, digest = audit.head()
    return Checkpoint(
        seq=seq,
        hash=digest,
        at=session.now().isoformat(timespec="seconds"),
        db=str(session.db_path),
    ).to_json()


def read_checkpoints(path: Path) -> list[Checkpoint]:
    """Every checkpoint line of ``path``; InputError naming the file (and line) otherwise."""
    shown = show_text(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError("--against", f"チェックポイントのファイル {shown} がありません") from None
    except IsADirectoryError:
        raise InputError(
            "--against", f"{shown} はフォルダです。チェックポイントのファイルを指定してください"
        ) from None
    except OSError as exc:
        raise InputError("--against", f"{shown} を読めません（{exc.strerror}）") from None
    except UnicodeDecodeError:
        raise InputError("--against", f"{shown} は UTF-8 のテキストではありません") from None
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            found.append(audit.parse_checkpoint(line))
        except ValueError as exc:
            raise InputError(
                "--against",
                f"{shown} の {number} 行目はチェックポイントではありません（{exc}）",
            ) from None
    if not found:
        raise InputError("--against", f"{shown} にチェックポイントがありません")
    return found


def audit_verify(session: Session, against: list[Path]) -> VerifyResult:
    """Verify the chain, and that it still holds every head checkpointed in ``against``."""
    checkpoints = [cp for path in against for cp in read_checkpoints(Path(path))]
    return audit.verify(checkpoints=checkpoints)
