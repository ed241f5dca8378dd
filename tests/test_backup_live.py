"""`kyusho backup` while others write, and `kyusho restore` of that backup (SPEC 5.2, 6.1).

The backup is SQLite's online backup: taken while other processes keep posting, it must be
a consistent snapshot that holds at least every post that had succeeded before it began,
and nothing that was never stored; restored into a new file it must verify and rebuild
without a change.
"""

from __future__ import annotations

import sqlite3
import stat
import time
from datetime import date

from conftest import TODAY
from procs.worker import inspect_database, run_kyusho, setup_database, start_posters, wait_all

from kyusho.identity import os_login

CLAIMS = [f"R5-{n:06d}" for n in range(1, 7)]


def ok_refs(posters) -> set[str]:
    return {e["ref"] for p in posters for e in p.successes()}


def test_backup_under_write_load_restores_to_a_consistent_database(tmp_path):
    db = tmp_path / "live.db"
    setup_database(db, CLAIMS, login=os_login(), today=TODAY, subrogated=date(2023, 4, 10))
    posters = start_posters(tmp_path / "logs", db, CLAIMS, 4, seconds=2.5, seed=11, today=TODAY)
    time.sleep(0.8)

    before = ok_refs(posters)  # these had reported success before the backup began
    backup = tmp_path / "backup.db"
    made = run_kyusho(tmp_path, "--db", db, "backup", backup)
    assert made.returncode == 0, made.stderr
    assert all(p.process.poll() is None for p in posters), "the writers stopped too early"
    wait_all(posters)
    # the writers were not disturbed by the backup
    assert [p.summary()["errors"] for p in posters] == [{}] * 4

    restored = tmp_path / "restored.db"
    done = run_kyusho(tmp_path, "restore", backup, "--to", restored)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(restored.stat().st_mode) == 0o660
    conn = sqlite3.connect(str(restored))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()

    snapshot = inspect_database(restored, os_login())
    assert snapshot.consistent() == []
    in_backup = set(snapshot.receipt_refs) | set(snapshot.event_refs)
    assert before and before <= in_backup
    live = inspect_database(db, os_login())
    assert live.consistent() == []
    in_live = set(live.receipt_refs) | set(live.event_refs)
    # a snapshot: nothing that the live database does not have, and the writers went on
    assert in_backup <= in_live
    assert in_live - in_backup
    assert in_live == ok_refs(posters)

    # and the restored file is a working kyusho database for the command too
    verified = run_kyusho(tmp_path, "--db", restored, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
