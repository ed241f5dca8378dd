"""Rebuild, backup and restore (SPEC 5.2, 6.1)."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from kyusho.errors import InputError, KyushoError
from kyusho.services import projections
from kyusho.services.session import Session
from models import audit
from models.db import group_umask
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


def backup(session: Session, dest: Path) -> Path:
    """Online backup through SQLite's backup API: consistent even while others write."""
    dest = dest.expanduser()
    if dest.exists():
        raise InputError("DEST", f"{dest} はすでにあります。新しいファイル名を指定してください")
    if not dest.parent.is_dir():
        raise InputError("DEST", f"フォルダ {dest.parent} がありません")
    source = session.db.connection()
    with group_umask():
        target = sqlite3.connect(str(dest))
    try:
        source.backup(target, pages=1024)
    finally:
        target.close()
    os.chmod(dest, 0o660)  # SQLite creates 0644 whatever the umask; the group must write
    return dest


def restore(src: Path, dest: Path) -> Path:
    """Copy a backup into a new database file (never over an existing one)."""
    src, dest = src.expanduser(), dest.expanduser()
    if not src.is_file():
        raise InputError("SRC", f"{src} がありません")
    if dest.exists():
        raise InputError("--to", f"{dest} はすでにあります。復元は新しいファイルにします")
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    try:
        try:
            check = source.execute("PRAGMA integrity_check").fetchone()[0]
            version = source.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone()
        except sqlite3.DatabaseError:
            raise InputError(
                "SRC", f"{src} は kyusho のバックアップ（SQLite データベース）ではありません"
            ) from None
        if check != "ok":
            raise KyushoError(f"{src} は壊れています: {check}")
        if version is None:
            raise InputError("SRC", f"{src} は kyusho のデータベースではありません")
        with group_umask():
            target = sqlite3.connect(str(dest))
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=wal")
        finally:
            target.close()
        os.chmod(dest, 0o660)
    finally:
        source.close()
    return dest
