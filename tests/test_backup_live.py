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

import pytest
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


# --------------------------------------------------------------------------- issue 12 point 3

FILLER_MB = 110


def fill(db, megabytes: int) -> None:
    """Grow ``db`` past ``megabytes`` MB with a table of random blobs kyusho never reads."""
    conn = sqlite3.connect(str(db), timeout=15)
    try:
        conn.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, body BLOB)")
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT INTO filler (body) SELECT randomblob(1000000) FROM n",
            (megabytes,),
        )
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def test_backup_of_a_large_database_finishes_while_four_processes_keep_writing(tmp_path):
    db = tmp_path / "live.db"
    setup_database(db, CLAIMS, login=os_login(), today=TODAY, subrogated=date(2023, 4, 10))
    fill(db, FILLER_MB)
    assert db.stat().st_size >= 100 * 1024 * 1024
    posters = start_posters(tmp_path / "logs", db, CLAIMS, 4, seconds=8, seed=12, today=TODAY)
    time.sleep(0.5)
    before = ok_refs(posters)
    folder = tmp_path / "backups"
    folder.mkdir()
    backup = folder / "backup.db"

    made = run_kyusho(tmp_path, "--db", db, "backup", backup, timeout=25)

    assert made.returncode == 0, made.stderr
    # it finished while all four were still writing, and they went on writing after it
    assert all(p.process.poll() is None for p in posters), "the backup waited for the writers"
    during = ok_refs(posters)
    wait_all(posters)
    assert [p.summary()["errors"] for p in posters] == [{}] * 4
    assert ok_refs(posters) - during, "the writers stopped writing"
    # a complete copy under its name, nothing else left in its folder
    assert sorted(f.name for f in folder.iterdir()) == ["backup.db"]
    assert backup.stat().st_size >= 100 * 1024 * 1024
    assert stat.S_IMODE(backup.stat().st_mode) == 0o660

    copy = inspect_database(backup, os_login())
    assert copy.consistent() == []  # integrity, audit verify, rebuild finds nothing
    in_backup = set(copy.receipt_refs) | set(copy.event_refs)
    assert before and before <= in_backup <= ok_refs(posters)


def test_an_interrupted_backup_leaves_no_partial_file(tmp_path):
    from kyusho.config import Config
    from kyusho.services.maintenance import backup
    from kyusho.services.session import open_session

    db = tmp_path / "live.db"
    setup_database(db, [], login=os_login(), today=TODAY, subrogated=date(2023, 4, 10))
    fill(db, 40)
    folder = tmp_path / "backups"
    folder.mkdir()
    session = open_session(Config(db_path=db), db)
    steps = []

    def interrupt_midway(stage: str, done: int, total: int) -> None:
        steps.append(done)
        if len(steps) == 2:
            raise KeyboardInterrupt  # as Ctrl-C arrives between two steps of the copy

    try:
        with pytest.raises(KeyboardInterrupt):
            backup(session, folder / "backup.db", progress=interrupt_midway)
        assert list(folder.iterdir()) == []  # neither the file nor a temporary or a journal
        # and the name is free: the next backup to it is not refused
        made = backup(session, folder / "backup.db")
        assert sorted(f.name for f in folder.iterdir()) == ["backup.db"]
        check = sqlite3.connect(str(made))
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert check.execute("SELECT COUNT(*) FROM filler").fetchone()[0] == 40
        check.close()
    finally:
        session.db.close()


def test_restore_refuses_a_dangling_source_and_replaces_only_with_force(tmp_path):
    from kyusho.errors import InputError
    from kyusho.services.maintenance import restore

    db = tmp_path / "live.db"
    setup_database(db, [], login=os_login(), today=TODAY, subrogated=date(2023, 4, 10))
    folder = tmp_path / "restored"
    folder.mkdir()
    dangling = tmp_path / "gone.db"
    dangling.symlink_to(tmp_path / "nothing-here.db")
    with pytest.raises(InputError) as err:
        restore(dangling, folder / "new.db")
    assert err.value.field == "SRC"
    assert list(folder.iterdir()) == []

    existing = folder / "kept.db"
    existing.write_bytes(b"someone's file")
    with pytest.raises(InputError) as err:
        restore(db, existing)
    assert err.value.field == "--to"
    assert existing.read_bytes() == b"someone's file"

    restore(db, existing, force=True)
    assert sorted(f.name for f in folder.iterdir()) == ["kept.db"]  # no temporary left
    assert stat.S_IMODE(existing.stat().st_mode) == 0o660
    conn = sqlite3.connect(str(existing))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT COUNT(*) FROM audit_event").fetchone()[0] >= 1
    conn.close()
