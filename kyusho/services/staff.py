"""Staff registration (SPEC 6.2: only admin manages staff; init makes the first admin)."""

from __future__ import annotations

import re
from pathlib import Path

from kyusho.clock import SYSTEM_CLOCK, Clock
from kyusho.errors import InputError, KyushoError
from kyusho.rules.text import reject_invisible
from kyusho.services.session import Session
from kyusho.vocab import STAFF_ROLES
from models import audit
from models.db import open_database, write_transaction
from models.migrations import create_schema, schema_version
from models.schema import Staff

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


def init_database(
    path: Path, login: str, name: str | None = None, *, clock: Clock = SYSTEM_CLOCK
) -> None:
    """Create a new database; the invoking OS user becomes admin."""
    login = validate_login(login)
    if name is not None:
        name = reject_invisible(name.strip(), "--name") or None
    if path.exists() and path.stat().st_size > 0:
        db = open_database(path)
        if schema_version(db) is not None:
            raise KyushoError(f"{path} はすでに kyusho のデータベースです。")
    db = open_database(path, create=True)
    create_schema(db, created_at=clock.now())
    with write_transaction(db):
        now = clock.now()
        row = Staff.create(
            login=login, name=name or login, role="admin", active=True, created_at=now
        )
        audit.record(
            login, "staff.add", "staff", row.login, after=staff_dict(row), reason="init", at=now
        )


def add_staff(session: Session, login: str, name: str, role: str) -> Staff:
    session.require("admin", "担当者の登録")
    login = validate_login(login)
    role = validate_role(role)
    name = reject_invisible(name.strip(), "氏名")
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
        audit.record(
            session.login, "staff.add", "staff", login, after=staff_dict(row), at=session.now()
        )
        return row


def deactivate_staff(session: Session, login: str, reason: str) -> None:
    session.require("admin", "担当者の無効化")
    if not reason.strip():
        raise InputError("理由", "無効化の理由を入力してください")
    with session.writing():
        row = Staff.get_or_none(Staff.login == login)
        if row is None:
            raise InputError("ログイン", f"{login} は登録されていません")
        before = staff_dict(row)
        row.active = False
        row.save()
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


def list_staff(session: Session) -> list[Staff]:
    return list(Staff.select().order_by(Staff.login))
