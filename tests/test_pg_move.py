"""Moving an SQLite database to PostgreSQL, and backups there (pg_dump / pg_restore).

The copy must keep the audit chain verifiable and every projection as it is, and must never
write into a database that already has tables.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ADMIN, TODAY, drop_pg_database, make_session, new_pg_database

from kyusho.errors import InputError, KyushoError
from kyusho.services import postgres
from kyusho.services.maintenance import rebuild
from models import audit
from models.schema import AuditEvent, Claim, LedgerEntry, Staff

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def sqlite_demo(tmp_path: Path) -> Path:
    from kyusho.demo import build_demo

    path = tmp_path / "demo.db"
    build_demo(path, claims=30, seed=3, admin_login=ADMIN, today=TODAY)
    return path


@pytest.fixture
def empty_url():
    url = new_pg_database()
    yield url
    drop_pg_database(url)


def _figures() -> tuple[int, int, int, list[str]]:
    return (
        Claim.select().count(),
        LedgerEntry.select().count(),
        AuditEvent.select().count(),
        sorted(s.login for s in Staff.select()),
    )


def test_migrate_copies_everything_and_the_chain_still_verifies(sqlite_demo, empty_url):
    source = make_session(sqlite_demo)
    before = _figures()
    head = audit.head()
    report = postgres.migrate_to(source, empty_url)
    assert report.rows["claim"] == before[0]
    target = make_session(empty_url)  # as the admin's own role on the server
    assert _figures() == before
    assert audit.head() == head  # the same events, numbers and hashes
    assert audit.verify().ok
    assert rebuild(target, write=False).changed == 0
    # the copy is live: a write is chained by the server after the copied events
    from kyusho.services.staff import add_staff

    add_staff(target, "newbie", "新人", "staff")
    assert audit.head()[0] == head[0] + 1
    assert audit.verify().ok


def test_migrate_refuses_a_target_with_tables(sqlite_demo, empty_url):
    source = make_session(sqlite_demo)
    postgres.migrate_to(source, empty_url)
    again = make_session(sqlite_demo)
    with pytest.raises(KyushoError, match="すでに kyusho"):
        postgres.migrate_to(again, empty_url)


def test_a_failed_migration_leaves_the_target_empty(sqlite_demo, empty_url, monkeypatch):
    source = make_session(sqlite_demo)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(postgres.pg, "grant_role", broken)
    with pytest.raises(RuntimeError):
        postgres.migrate_to(source, empty_url)
    from models.db import open_database

    assert open_database(empty_url).get_tables() == []


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump がありません")
def test_backup_and_restore_through_pg_dump(db_path, empty_url, tmp_path):
    session = make_session(db_path)
    from kyusho.services.staff import add_staff

    add_staff(session, "tanto", "担当", "staff")
    dest = postgres.backup(session, tmp_path / "k.dump")
    assert dest.read_bytes()[:5] == b"PGDMP"
    with pytest.raises(InputError, match="DEST"):
        postgres.backup(session, tmp_path / "k.dump")  # never over a file without force
    postgres.restore(dest, empty_url)
    restored = make_session(empty_url)
    assert sorted(s.login for s in Staff.select()) == [ADMIN, "tanto"]
    assert audit.verify().ok
    assert restored.login == ADMIN
    with pytest.raises(KyushoError, match="すでに kyusho"):
        postgres.restore(dest, empty_url)  # never into a database with tables


def test_an_older_schema_is_upgraded_by_the_owner_only(db_path):
    """A staff role cannot change tables: an older schema is refused with what to do, and
    the owner's next command upgrades it."""
    import psycopg

    from kyusho.config import Config
    from kyusho.services.session import open_session
    from models.migrations import SCHEMA_VERSION, SchemaError

    with psycopg.connect(db_path, autocommit=True) as owner:  # the URL's user owns it
        owner.execute('CREATE INDEX "ledger_entry_claim_id" ON ledger_entry (claim_id)')
        owner.execute(
            "UPDATE meta SET value = %s WHERE key = 'schema_version'", (str(SCHEMA_VERSION - 1),)
        )
    with pytest.raises(SchemaError, match="所有者"):
        make_session(db_path)  # the admin's own role, not the owner
    from urllib.parse import urlsplit

    from kyusho.errors import PermissionDenied
    from kyusho.identity import acting_as

    # the owner's session upgrades first (this test's owner is not a staff member, so the
    # session itself is then refused; in a 協会 the owner is the first admin)
    with acting_as(urlsplit(db_path).username), pytest.raises(PermissionDenied):
        open_session(Config(), db_path)
    assert make_session(db_path).login == ADMIN
    with psycopg.connect(db_path) as owner:
        assert owner.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),
        )
        # schema 8's step ran: the index a composite index makes redundant is gone
        assert owner.execute("SELECT to_regclass('ledger_entry_claim_id')").fetchone() == (None,)
