"""PostgreSQL operations: backups with pg_dump, restores with pg_restore, and moving an
SQLite database over to a server (SPEC 6.1).

The move copies every table as it is, audit chain included (the server's chaining trigger is
created after the copy, so events keep their numbers, logins and hashes), in ONE transaction
on the target: a failure leaves the target empty.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kyusho.errors import InputError, KyushoError
from kyusho.files import atomic_output, output_path, show_text, user_path
from kyusho.services.session import Session
from kyusho.services.staff import refuse_nonempty_server
from kyusho.vocab import HIGH_KINDS
from models import pg
from models.db import BUSY_TIMEOUT_MS, database, open_database, write_transaction
from models.schema import ALL_MODELS, Staff

Progress = Callable[[str, int, int], None]


def _tool(name: str) -> str:
    """The path of a PostgreSQL client program, or a message saying what to install."""
    found = shutil.which(name)
    if found is None:
        for version in range(20, 11, -1):  # Debian keeps them under /usr/lib/postgresql
            candidate = Path(f"/usr/lib/postgresql/{version}/bin/{name}")
            if candidate.exists():
                return str(candidate)
        raise KyushoError(
            f"{name} が見つかりません。PostgreSQL のクライアント（Debian: postgresql-client）を"
            "インストールしてください"
        )
    return found


def _run(args: list[str], what: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise KyushoError(f"{what}に失敗しました: {detail[-1] if detail else done.returncode}")


def backup(session: Session, dest: Path | str, *, force: bool = False) -> Path:
    """pg_dump (custom format) of the session's database: one consistent snapshot, taken
    while others keep writing; written beside ``dest`` and renamed into place."""
    if session.db_url is None:
        raise KyushoError("PostgreSQL のデータベースではありません")
    dest = output_path(dest, "DEST", force=force)
    with atomic_output(dest, field="DEST") as tmp:
        _run(
            [_tool("pg_dump"), "--format=custom", f"--file={tmp}", f"--dbname={session.db_url}"],
            "pg_dump",
        )
    return dest


def restore(src: Path | str, url: str) -> str:
    """pg_restore of a backup into ``url``, a new (empty) database, in one transaction."""
    src = user_path(src, "SRC")
    if not src.is_file():
        raise InputError("SRC", f"{show_text(src)} がありません")
    with src.open("rb") as fh:
        if fh.read(5) != b"PGDMP":
            raise InputError(
                "SRC", f"{show_text(src)} は pg_dump（custom 形式）のバックアップではありません"
            )
    url = pg.check_url(url, "--to")
    db = open_database(url)
    refuse_nonempty_server(db, url, "--to")
    db.close()
    _run(
        [
            _tool("pg_restore"),
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            f"--dbname={url}",
            str(src),
        ],
        "pg_restore",
    )
    return url


@dataclass(frozen=True)
class MoveReport:
    url: str
    rows: dict[str, int]


def _columns(model: type) -> list[str]:
    return [f.column_name for f in model._meta.sorted_fields]  # type: ignore[attr-defined]


def migrate_to(session: Session, url: str, *, progress: Progress | None = None) -> MoveReport:
    """Copy the session's SQLite database into the empty PostgreSQL database ``url``.

    The target connection is the URL's (or the OS) user, who must own the database: it
    creates the tables, the group roles and grants, a login role for every staff member, and
    the server's audit trigger and guards, then copies every row as it is.
    """
    if session.db_path is None:
        raise KyushoError("移行元は SQLite のデータベースです（--db にファイルを指定）")
    url = pg.check_url(url, "--to")
    source = sqlite3.connect(
        f"file:{session.db_path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000
    )
    source.isolation_level = None
    counts: dict[str, int] = {}
    try:
        source.execute("BEGIN")  # one snapshot for the whole copy
        target = open_database(url)
        try:
            with write_transaction(target):
                refuse_nonempty_server(target, url, "--to")
                pg.create_tables(target, ALL_MODELS)
                # rows first, the server's triggers after: the chain is copied as it is
                for model in ALL_MODELS:
                    table = model._meta.table_name
                    cols = _columns(model)
                    names = ", ".join(f'"{c}"' for c in cols)
                    rows = source.execute(f'SELECT {names} FROM "{table}"')
                    n = 0
                    with database.connection().cursor() as cur:
                        with cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                            for row in rows:
                                copy.write_row(row)
                                n += 1
                    counts[table] = n
                    if progress:
                        progress(table, n, n)
                    pk: Any = model._meta.primary_key
                    if getattr(pk, "field_type", "") == "AUTO":
                        target.execute_sql(
                            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', "
                            f"'{pk.column_name}'), COALESCE((SELECT MAX(\"{pk.column_name}\") "
                            f'FROM "{table}"), 0) + 1, false)'
                        )
                approval = session.config.policy.approval
                pg.install_server_rules(
                    target,
                    min_role=approval.min_role,
                    min_role_high=approval.min_role_high,
                    high_kinds=sorted(HIGH_KINDS),
                )
                for staff in Staff.select():
                    pg.grant_role(target, staff.login, staff.role, active=staff.active)
        finally:
            database.initialize(session.db)
    finally:
        source.close()
    return MoveReport(url=url, rows=counts)
