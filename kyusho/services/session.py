"""A working session: the open database, the configuration and the acting staff member."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from peewee import Database, ProgrammingError

from kyusho.clock import SYSTEM_CLOCK, Clock, PinnedClock
from kyusho.config import Config
from kyusho.errors import PermissionDenied
from kyusho.files import show_text
from kyusho.identity import os_login
from kyusho.rules.dates import format_date
from kyusho.vocab import ROLE_RANK, STAFF_ROLES
from models import pg
from models.db import database, open_database, write_transaction
from models.migrations import ensure_current
from models.schema import Staff


@dataclass
class Session:
    config: Config
    db: Database
    db_path: Path | None  # the SQLite file (None on PostgreSQL)
    login: str
    name: str
    role: str
    clock: Clock = field(default=SYSTEM_CLOCK)
    view_as_of: date | None = field(default=None)  # the whole UI viewed as of a past date
    db_url: str | None = field(default=None)  # the PostgreSQL database (None on SQLite)

    @property
    def location(self) -> Path | str:
        """What opens this database again: the SQLite file, or the PostgreSQL URL."""
        if self.db_url is not None:
            return self.db_url
        assert self.db_path is not None
        return self.db_path

    @property
    def db_label(self) -> str:
        """The database as the status bar and messages name it (never a password)."""
        if self.db_url is not None:
            return pg.shown_url(self.db_url)
        return self.db_path.name if self.db_path is not None else ""

    def protected_files(self) -> list[Path]:
        """Files no output may overwrite: the SQLite database (none on PostgreSQL)."""
        return [self.db_path] if self.db_path is not None else []

    def today(self) -> date:
        """The working date, from the session's one clock."""
        return self.clock.today()

    def now(self) -> datetime:
        """The timestamp of anything this session records, from the same clock as ``today``."""
        return self.clock.now()

    def view_date(self) -> date:
        """The date everything read is cut at: the as-of date being viewed, else today."""
        return self.view_as_of or self.today()

    def require_present(self, what: str) -> None:
        """Refuse a write while a past date is being viewed (what is shown is not today's)."""
        if self.view_as_of is not None:
            shown = format_date(self.view_as_of, self.config.dates)
            raise PermissionDenied(
                f"{shown} 時点の表示中は{what}できません"
                "（過去の時点を表示しているため。時点を今日に戻してから操作してください）"
            )

    @contextmanager
    def writing(self) -> Iterator[None]:
        """The one way services open a write: refused while a past date is viewed.

        The acting login's staff row is read again inside the IMMEDIATE transaction, so an
        admin's deactivation or demotion takes effect at this user's next write even in a
        session opened before it: no other writer can change the row until this commits.
        """
        self.require_present("登録・変更")
        if database.obj is not self.db:
            database.initialize(self.db)  # several sessions in one process (tests, the demo)
        with write_transaction(self.db):
            self._check_still_allowed()
            yield

    def _check_still_allowed(self) -> None:
        """Refresh ``role`` and ``name`` from the staff row; refuse if inactive or demoted.

        A demotion refuses this one write even when the new role would allow it, because
        ``require`` checks made before the transaction saw the old role; the next attempt
        is checked against the new one.
        """
        try:
            row = Staff.get_or_none(Staff.login == self.login)
        except ProgrammingError as exc:
            if not pg.is_privilege_error(exc):
                raise
            row = None  # PostgreSQL: a deactivated login's role has lost its grants
        if row is None or not row.active:
            raise PermissionDenied(
                f"ログイン {self.login} は担当者として無効化されているため、登録・変更できません"
                "（何も保存していません）。管理者に確認してください。"
            )
        before, self.role, self.name = self.role, row.role, row.name
        if ROLE_RANK.get(row.role, -1) < ROLE_RANK.get(before, -1):
            raise PermissionDenied(
                f"{self.login} の権限が {STAFF_ROLES.get(before, before)}（{before}）から"
                f" {STAFF_ROLES.get(row.role, row.role)}（{row.role}）に変更されました。"
                "何も保存していません。必要ならもう一度操作してください（新しい権限で確認します）。"
            )

    def pin(self, day: date) -> None:
        """Pin the session's clock to ``day`` (tests, the demo, reproducible runs)."""
        self.clock = PinnedClock(day)

    def require(self, min_role: str, what: str) -> None:
        """Refuse unless the acting user holds at least ``min_role``."""
        if ROLE_RANK[self.role] < ROLE_RANK[min_role]:
            raise PermissionDenied(
                f"{what}には{STAFF_ROLES[min_role]}（{min_role}）以上の権限が必要です"
                f"（{self.login} は {STAFF_ROLES[self.role]}）"
            )


def staff_for(login: str) -> Staff:
    staff = Staff.get_or_none((Staff.login == login) & (Staff.active == True))  # noqa: E712
    if staff is None:
        raise PermissionDenied(
            f"ログイン {login} は kyusho の担当者として登録されていません。"
            f"管理者に `kyusho staff add {login} --name 氏名 --role staff` を依頼してください。"
        )
    return staff


def check_database_folder(path: Path, *, others_may_read: bool = True) -> None:
    """Refuse a database whose folder others can write (or, for a new one, read or enter).

    Whoever can write the folder can replace the database or plant its -wal, -shm or -lock
    files before the group's first use; the sticky bit does not prevent the latter.
    """
    folder = Path(os.path.abspath(path)).parent
    try:
        mode = stat.S_IMODE(folder.stat().st_mode)
    except OSError:
        return  # a missing folder is reported where the path is checked
    bad = 0o007 if not others_may_read else 0o002
    if mode & bad:
        what = "読み書き" if not others_may_read else "書き込み"
        raise PermissionDenied(
            f"データベースのフォルダ {show_text(folder)} は他のユーザー（同じグループ以外）が{what}できます"
            f"（モード {mode:o}）。共有用のフォルダなら次のコマンドで直してください: "
            f"chmod 2770 {show_text(folder)}（個人用なら chmod o-rwx {show_text(folder)}）"
        )


def open_session(
    config: Config,
    db_path: Path | None = None,
    *,
    login: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Session:
    """Open the database, bring its schema up to date and identify the acting user.

    On PostgreSQL the acting user is the role the server authenticated (``session_user``):
    ``login`` only says which role to connect as, and the server refuses a role the OS user
    may not use (peer authentication).
    """
    target = db_path if db_path is not None else (config.db_url or config.db_path)
    url = str(target) if pg.is_url(target) else None
    if url is not None:
        # each user works as their own role, whatever user the URL names: the OS login
        db = open_database(url, login=login or os_login())
        ensure_current(db)
        who = pg.session_login(db)
        path = None
    else:
        path = Path(target)
        check_database_folder(path)
        db = open_database(path)
        ensure_current(db)
        who = login or os_login()
    staff = staff_for(who)
    return Session(
        config=config,
        db=db,
        db_path=path,
        db_url=url,
        login=who,
        name=staff.name,
        role=staff.role,
        clock=clock,
    )
