"""Staff registration (SPEC 6.2: only admin manages staff; init makes the first admin)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kyusho.clock import SYSTEM_CLOCK, Clock
from kyusho.errors import InputError, KyushoError
from kyusho.files import show_text
from kyusho.rules.text import LINE_MAX, NAME_MAX, clean_text
from kyusho.services.session import Session
from kyusho.vocab import HIGH_KINDS, STAFF_ROLES
from models import audit, pg
from models.db import is_postgres, open_database, write_transaction
from models.migrations import SCHEMA_VERSION, schema_version
from models.schema import ALL_MODELS, Meta_, Staff

LOGIN_RE = re.compile(r"^[a-z_][a-z0-9_.\-]{0,31}$")


def validate_login(login: str) -> str:
    login = login.strip()
    if not LOGIN_RE.match(login):
        raise InputError(
            "ログイン", "OS のログイン名（英小文字・数字・_.- で32文字以内）を指定してください"
        )
    return login


def validate_role(role: str) -> str:
    if role not in STAFF_ROLES:
        raise InputError(
            "権限", f"{' / '.join(STAFF_ROLES)} のいずれかを指定してください（値: {role!r}）"
        )
    return role


def staff_dict(s: Staff) -> dict[str, object]:
    return {"login": s.login, "name": s.name, "role": s.role, "active": s.active}


SQLITE_HEADER = b"SQLite format 3\x00"


def _refuse_existing(path: Path) -> None:
    """Refuse any file at ``path`` except an empty one (or an SQLite file with no tables).

    ``init`` must never add kyusho's tables to another application's database or write over
    a file that is not a database; an SQLite file with no tables is what an ``init`` killed
    before its one transaction committed leaves, so it may be used again.
    """
    shown = show_text(path)
    if path.is_dir():
        raise InputError(
            "--db", f"{shown} はフォルダです。データベースファイルのパスを指定してください"
        )
    if not path.exists() or path.stat().st_size == 0:
        return
    if not path.is_file():
        raise InputError("--db", f"{shown} は通常のファイルではありません")
    try:
        with path.open("rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise InputError("--db", f"{shown} を読めません（{exc.strerror}）") from None
    if header != SQLITE_HEADER:
        raise InputError(
            "--db",
            f"{shown} はすでにあるファイルで、SQLite のデータベースではありません。"
            "上書きしないため、新しいファイル名を指定してください",
        )
    try:  # read-only: a foreign database is not touched (not even switched to WAL)
        conn = sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise InputError("--db", f"{shown} は読めない SQLite ファイルです（{exc}）") from None
    if "meta" in tables:
        raise KyushoError(f"{shown} はすでに kyusho のデータベースです。")
    if tables:
        raise InputError(
            "--db",
            f"{shown} は kyusho 以外の SQLite データベースです。"
            "kyusho の表を追加しないため、新しいファイル名を指定してください",
        )


def refuse_nonempty_server(db: Any, url: str, field: str = "--db") -> None:
    """``init``, ``migrate --to`` and ``restore --to`` write only into a database with no
    tables; ``field`` names the option that gave it."""
    tables = db.get_tables()
    if "meta" in tables:
        raise KyushoError(f"{pg.shown_url(url)} はすでに kyusho のデータベースです。")
    if tables:
        raise InputError(
            field,
            f"{pg.shown_url(url)} には表があります（{', '.join(tables[:5])} など）。"
            "kyusho の表を追加しないため、空のデータベースを指定してください",
        )


def init_database(
    path: Path | str,
    login: str | None,
    name: str | None = None,
    *,
    clock: Clock = SYSTEM_CLOCK,
    approval: tuple[str, str] = ("manager", "manager"),
) -> str:
    """Create a new database; the invoking OS user becomes admin.

    The schema, the schema version and the first admin are written in ONE transaction, so
    a kill at any moment leaves either no kyusho database or a complete one with its admin.
    On PostgreSQL the connection is the database owner's: the same transaction creates the
    group roles, grants, the audit trigger and the guards, and the admin's login role.
    ``approval`` (min_role, min_role_high) is the policy the server enforces there.
    ``login`` None (PostgreSQL only): the owner's own role. Returns the first admin's login.
    """
    if login is not None:
        login = validate_login(login)
    if name is not None:
        name = clean_text(name, "--name", max_len=NAME_MAX) or None
    if pg.is_url(path):
        return _init_server(str(path), login, name, clock, approval)
    if login is None:
        raise InputError("ログイン", "最初の管理者のログインを指定してください")
    path = Path(path)
    _refuse_existing(path)
    db = open_database(path, create=True)
    with write_transaction(db):
        if schema_version(db) is not None:  # another init won the race
            raise KyushoError(f"{show_text(path)} はすでに kyusho のデータベースです。")
        db.create_tables(ALL_MODELS)
        _create_rows(login, name, clock)
    return login


def _create_rows(login: str, name: str | None, clock: Clock) -> None:
    """The schema version and the first admin, inside the caller's transaction."""
    now = clock.now()
    Meta_.insert(key="schema_version", value=str(SCHEMA_VERSION)).execute()
    Meta_.insert(key="created_at", value=now.isoformat()).execute()
    row = Staff.create(login=login, name=name or login, role="admin", active=True, created_at=now)
    audit.record(
        login, "staff.add", "staff", row.login, after=staff_dict(row), reason="init", at=now
    )


def _init_server(
    url: str, login: str | None, name: str | None, clock: Clock, approval: tuple[str, str]
) -> str:
    db = open_database(url)  # as the URL's (or the OS) user: the database owner
    if login is None:
        login = validate_login(pg.session_login(db))
    with write_transaction(db):
        refuse_nonempty_server(db, url)
        pg.create_tables(db, ALL_MODELS)
        pg.install_server_rules(
            db, min_role=approval[0], min_role_high=approval[1], high_kinds=sorted(HIGH_KINDS)
        )
        pg.grant_role(db, login, "admin")
        _create_rows(login, name, clock)
    return login


def add_staff(session: Session, login: str, name: str, role: str) -> Staff:
    session.require("admin", "担当者の登録")
    login = validate_login(login)
    role = validate_role(role)
    name = clean_text(name, "氏名", max_len=NAME_MAX)
    if not name:
        raise InputError("氏名", "担当者の氏名を指定してください")
    with session.writing():
        existing = Staff.get_or_none(Staff.login == login)
        if existing is not None:
            if existing.active:
                raise InputError("ログイン", f"{login} はすでに登録されています")
            before = staff_dict(existing)
            existing.name, existing.role, existing.active = name, role, True
            existing.save()
            _grant(login, role, active=True)
            audit.record(
                session.login,
                "staff.reactivate",
                "staff",
                login,
                before=before,
                after=staff_dict(existing),
                at=session.now(),
            )
            return existing
        row = Staff.create(login=login, name=name, role=role, active=True, created_at=session.now())
        _grant(login, role, active=True)
        audit.record(
            session.login, "staff.add", "staff", login, after=staff_dict(row), at=session.now()
        )
        return row


def deactivate_staff(session: Session, login: str, reason: str) -> None:
    session.require("admin", "担当者の無効化")
    reason = clean_text(reason, "理由", max_len=LINE_MAX)
    if not reason:
        raise InputError("理由", "無効化の理由を入力してください")
    with session.writing():
        row = Staff.get_or_none(Staff.login == login)
        if row is None:
            raise InputError("ログイン", f"{login} は登録されていません")
        before = staff_dict(row)
        row.active = False
        row.save()
        _grant(login, row.role, active=False)
        audit.record(
            session.login,
            "staff.deactivate",
            "staff",
            login,
            before=before,
            after=staff_dict(row),
            reason=reason,
            at=session.now(),
        )


def _grant(login: str, role: str, *, active: bool) -> None:
    """PostgreSQL: the login's database role follows its staff row (same transaction)."""
    if is_postgres():
        from models.db import database

        pg.grant_role(database.obj, login, role, active=active)


def list_staff(session: Session) -> list[Staff]:
    return list(Staff.select().order_by(Staff.login))
