"""Opening the shared database (SPEC 6.1) and schema versions (models/db.py, migrations.py).

Several staff share one SQLite file through a Unix group: it must be WAL with a long busy
timeout, created group read-write with nothing for others, refused when others can read it,
and never silently created, upgraded past what this kyusho knows, or mistaken for a
kyusho database when it is not one.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from conftest import ADMIN
from peewee import SqliteDatabase

from kyusho.config import Config
from kyusho.errors import KyushoError
from kyusho.services.session import open_session
from kyusho.services.staff import init_database
from models.db import (
    DatabasePermissionError,
    database,
    open_database,
    write_transaction,
)
from models.migrations import SCHEMA_VERSION, SchemaError, ensure_current, schema_version
from models.schema import Staff

pytestmark = pytest.mark.sqlite_only(
    reason="SQLite のデータベースファイル（WAL・権限・フォルダ）について"
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def set_version(path: Path, version: int) -> None:
    conn = sqlite3.connect(str(path))
    with conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
    conn.close()


def columns(db: SqliteDatabase, table: str) -> set[str]:
    return {c.name for c in db.get_columns(table)}


# --------------------------------------------------------------------------- connection


def test_connection_is_wal_with_a_long_busy_timeout(db_path):
    db = open_database(db_path)
    assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] >= 10_000
    # WAL is a property of the file: every other process sees it too
    other = sqlite3.connect(str(db_path))
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()


def test_write_transaction_takes_the_write_lock_up_front(db_path):
    """BEGIN IMMEDIATE: a second writer waits at BEGIN, never deadlocks on a lock upgrade."""
    db = open_database(db_path)
    other = sqlite3.connect(str(db_path), timeout=0, isolation_level=None)
    try:
        with write_transaction(db):
            Staff.select().count()  # a read only, yet the write lock is already held
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again after commit
        other.execute("ROLLBACK")
    finally:
        other.close()


# --------------------------------------------------------------------------- permissions


def test_new_database_is_group_read_write_and_nothing_for_others(tmp_path):
    path = tmp_path / "new.db"
    init_database(path, ADMIN)
    assert mode(path) == 0o660
    # the WAL and shared-memory files of a live connection follow the database's mode
    db = open_database(path)
    db.execute_sql("CREATE TABLE probe (x)")
    for side in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        assert side.exists(), side
        assert mode(side) & 0o007 == 0, side
        assert mode(side) & 0o060 == 0o060, side


def test_database_others_can_read_is_refused_with_the_fix(db_path):
    os.chmod(db_path, 0o664)
    with pytest.raises(DatabasePermissionError) as info:
        open_database(db_path)
    assert isinstance(info.value, KyushoError)
    assert "chmod" in str(info.value)
    assert str(db_path) in str(info.value)


def test_session_on_a_world_readable_database_is_refused(db_path):
    os.chmod(db_path, 0o644)
    with pytest.raises(DatabasePermissionError, match="chmod"):
        open_session(Config(db_path=db_path), db_path, login=ADMIN)


def test_world_readable_wal_file_is_refused(db_path):
    keeper = sqlite3.connect(str(db_path))  # keeps the -wal file alive
    try:
        keeper.execute("CREATE TABLE probe (x)")
        keeper.commit()
        wal = Path(f"{db_path}-wal")
        assert wal.exists()
        os.chmod(wal, 0o664)
        with pytest.raises(DatabasePermissionError, match="chmod"):
            open_database(db_path)
    finally:
        keeper.close()


def test_group_only_database_opens(db_path):
    os.chmod(db_path, 0o640)
    open_database(db_path)  # no others bits: accepted


def test_missing_database_is_not_created_silently(tmp_path):
    path = tmp_path / "typo.db"
    with pytest.raises(KyushoError) as info:
        open_database(path)
    assert "kyusho init" in str(info.value)
    assert not path.exists()


# --------------------------------------------------------------------------- schema versions


def test_new_database_records_the_current_version(db_path):
    db = open_database(db_path)
    assert schema_version(db) == SCHEMA_VERSION
    assert ensure_current(db) == SCHEMA_VERSION


def test_older_database_is_migrated_one_step(db_path):
    db = open_database(db_path)
    target = SCHEMA_VERSION + 1
    ran: list[int] = []

    def step(d: SqliteDatabase) -> None:
        ran.append(target)
        d.execute_sql("ALTER TABLE staff ADD COLUMN phone TEXT")

    found = ensure_current(db, target=target, migrations={target: step})
    assert found == SCHEMA_VERSION
    assert ran == [target]
    assert schema_version(db) == target
    assert "phone" in columns(db, "staff")
    # once current, nothing runs again
    assert ensure_current(db, target=target, migrations={target: step}) == target
    assert ran == [target]
    assert Staff.get(Staff.login == ADMIN).role == "admin"  # data kept


def test_failed_migration_changes_nothing(db_path):
    db = open_database(db_path)
    target = SCHEMA_VERSION + 2

    def good(d: SqliteDatabase) -> None:
        d.execute_sql("CREATE TABLE added_by_step (x)")

    def bad(d: SqliteDatabase) -> None:
        raise RuntimeError("disk said no")

    with pytest.raises(RuntimeError):
        ensure_current(db, target=target, migrations={target - 1: good, target: bad})
    assert schema_version(db) == SCHEMA_VERSION
    assert not db.table_exists("added_by_step")


def test_missing_migration_step_is_refused(db_path):
    db = open_database(db_path)
    with pytest.raises(SchemaError):
        ensure_current(db, target=SCHEMA_VERSION + 1, migrations={})
    assert schema_version(db) == SCHEMA_VERSION


def test_a_version_7_database_loses_the_redundant_indexes_and_keeps_its_lookups(db_path):
    """Schema 8 drops the foreign-key indexes a composite index makes redundant (every
    import wrote them); a claim's ledger and obligors are still read through an index."""
    from models.migrations import REDUNDANT_INDEXES

    conn = sqlite3.connect(str(db_path))
    with conn:
        for name in REDUNDANT_INDEXES:
            key = "staff_id" if name.endswith("_staff_id") else "claim_id"
            table = name.removesuffix(f"_{key}")
            conn.execute(f'CREATE INDEX "{name}" ON "{table}" ("{key}")')
        conn.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    conn.close()
    db = open_database(db_path)
    assert ensure_current(db) == 7
    assert schema_version(db) == SCHEMA_VERSION
    indexes = {r[0] for r in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert indexes.isdisjoint(REDUNDANT_INDEXES)
    for sql in (
        "SELECT * FROM ledger_entry WHERE claim_id = 1 ORDER BY date, id",
        "SELECT * FROM obligor WHERE claim_id = 1",
        "SELECT * FROM contact WHERE claim_id = 1",
        "SELECT * FROM limitation_event WHERE claim_id = 1",
        "SELECT * FROM claim_municipality WHERE claim_id = 1",
        "SELECT * FROM claim WHERE staff_id = 1",
    ):
        plan = " ".join(r[-1] for r in db.execute_sql(f"EXPLAIN QUERY PLAN {sql}"))
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, (sql, plan)


def test_newer_database_is_refused_untouched(db_path):
    set_version(db_path, SCHEMA_VERSION + 1)
    db = open_database(db_path)
    with pytest.raises(SchemaError) as info:
        ensure_current(db)
    assert str(SCHEMA_VERSION + 1) in str(info.value)
    assert schema_version(db) == SCHEMA_VERSION + 1
    with pytest.raises(SchemaError):
        open_session(Config(db_path=db_path), db_path, login=ADMIN)


def test_empty_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "empty.db"
    sqlite3.connect(str(path)).close()
    os.chmod(path, 0o660)
    db = open_database(path)
    with pytest.raises(SchemaError) as info:
        ensure_current(db)
    assert "kyusho init" in str(info.value)
    with pytest.raises(KyushoError, match="kyusho init"):
        open_session(Config(db_path=path), path, login=ADMIN)


def test_foreign_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other-app.db"
    conn = sqlite3.connect(str(path))
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    os.chmod(path, 0o660)
    with pytest.raises(KyushoError, match="kyusho init"):
        open_session(Config(db_path=path), path, login=ADMIN)


def test_init_refuses_an_existing_kyusho_database(db_path):
    with pytest.raises(KyushoError):
        init_database(db_path, "someone")
    open_database(db_path)
    assert [s.login for s in Staff.select()] == [ADMIN]


def test_models_are_bound_to_the_last_opened_database(tmp_path):
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    init_database(a, "alice")
    init_database(b, "bob")
    open_database(a)
    assert database.obj is not None
    assert [s.login for s in Staff.select()] == ["alice"]
    open_database(b)
    assert [s.login for s in Staff.select()] == ["bob"]
