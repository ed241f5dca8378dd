"""Shared fixtures: a fresh database, and a small demo database pinned to a fixed day.

With KYUSHO_TEST_POSTGRESQL set to a server URL whose role may create databases and roles
(the throwaway cluster `.ci/run` starts), every test that takes ``db_path``, ``session``,
``demo_path`` or ``demo_session`` runs on a new PostgreSQL database instead of an SQLite
file: the fixtures then give a ``postgresql://`` URL where they gave a path. Tests about
SQLite itself are marked ``sqlite_only`` and skipped there, with the reason.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest

from kyusho.config import Config
from kyusho.services.session import Session, open_session
from kyusho.services.staff import init_database

# Tests see a fixed "today" so dates, alerts and snapshots never drift.
TODAY = date(2026, 11, 22)
ADMIN = "kadmin"

os.environ.pop("KYUSHO_CONFIG", None)

PG_SERVER = os.environ.get("KYUSHO_TEST_POSTGRESQL") or None
_names = itertools.count()


def on_postgres() -> bool:
    return PG_SERVER is not None


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sqlite_only(reason): about SQLite itself; skipped on PostgreSQL"
    )
    config.addinivalue_line("markers", "postgres_only: needs the PostgreSQL server")


def pytest_collection_modifyitems(config, items):
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None and on_postgres():
            why = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite のみ: {why}"))
        if on_postgres() and "snap_compare" in getattr(item, "fixturenames", ()):
            item.add_marker(
                pytest.mark.skip(
                    reason="画面の写しは SQLite で比べる（状態表示にデータベースの名前が出るため。"
                    "画面の動きは Pilot テストが両方のデータベースで確かめる）"
                )
            )
        if item.get_closest_marker("postgres_only") is not None and not on_postgres():
            item.add_marker(pytest.mark.skip(reason="KYUSHO_TEST_POSTGRESQL が未設定"))


def _server(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(sql)


def database_url(name: str) -> str:
    """The URL of database ``name`` on the test server (same user, host and options)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(PG_SERVER)
    return urlunsplit(parts._replace(path=f"/{name}"))


def share_roles(url: str) -> None:
    """Test databases share the cluster's roles (and logins such as "kacho"): a staff change
    in one must not revoke a role another test is using at the same moment."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('roles.shared', 'true')")


def new_pg_database(template: str | None = None) -> str:
    """A new, empty (or copied) database on the test server; its URL."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    name = f"kt_{worker}_{os.getpid()}_{next(_names)}"
    copy = f" TEMPLATE {template}" if template else ""
    _server(f"CREATE DATABASE {name}{copy}")
    return database_url(name)


def drop_pg_database(url: str) -> None:
    from urllib.parse import urlsplit

    from models.db import forget_postgres

    forget_postgres(url)
    name = urlsplit(url).path.lstrip("/")
    _server(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(autouse=True)
def _isolated_config(monkeypatch, tmp_path):
    """No test reads the developer's or the machine's kyusho.toml."""
    monkeypatch.delenv("KYUSHO_CONFIG", raising=False)
    monkeypatch.setattr("kyusho.config.SYSTEM_CONFIG", tmp_path / "no-system-config.toml")
    monkeypatch.setattr("kyusho.config.user_config_path", lambda: tmp_path / "no-user-config.toml")


@contextmanager
def direct_writes(session: Session) -> Iterator[None]:
    """A test's own setup writes, straight through the models: in the session's write
    transaction on SQLite; on PostgreSQL as the database owner (as a DBA would), whom the
    server's guards let write what a staff role may not (a decision in another's name)."""
    from models.db import database, open_database, write_transaction

    if session.db_url is None:
        with write_transaction(session.db):
            yield
        return
    owner = open_database(session.db_url)  # the URL's user: the owner
    try:
        with write_transaction(owner):
            yield
    finally:
        database.initialize(session.db)


def make_session(path, login: str = ADMIN, config: Config | None = None) -> Session:
    if config is None:
        config = Config(db_url=path) if isinstance(path, str) else Config(db_path=path)
    session = open_session(config, path, login=login)
    session.pin(TODAY)
    return session


@pytest.fixture
def db_path(tmp_path):
    """A new database with its first admin: a file path, or a URL on PostgreSQL."""
    if on_postgres():
        url = new_pg_database()
        init_database(url, ADMIN, "管理者")
        share_roles(url)
        yield url
        drop_pg_database(url)
        return
    path = tmp_path / "kyusho.db"
    init_database(path, ADMIN, "管理者")
    yield path


@pytest.fixture
def session(db_path) -> Session:
    """An admin session on a new, empty database."""
    return make_session(db_path)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    """One demo database built once per test run (copied per test that needs it)."""
    from kyusho.demo import build_demo

    if on_postgres():
        url = new_pg_database()
        build_demo(url, claims=120, seed=7, admin_login=ADMIN, today=TODAY)
        share_roles(url)
        from models.db import forget_postgres

        forget_postgres(url)  # a template database must have no connections
        yield url
        drop_pg_database(url)
        return
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    build_demo(path, claims=120, seed=7, admin_login=ADMIN, today=TODAY)
    yield path


@pytest.fixture
def demo_path(demo_template, tmp_path):
    import sqlite3

    if on_postgres():
        from urllib.parse import urlsplit

        url = new_pg_database(template=urlsplit(demo_template).path.lstrip("/"))
        yield url
        drop_pg_database(url)
        return

    dest = tmp_path / "demo.db"
    src = sqlite3.connect(str(demo_template))
    dst = sqlite3.connect(str(dest))
    src.backup(dst)
    src.close()
    dst.close()
    os.chmod(dest, 0o660)
    yield dest


@pytest.fixture
def demo_session(demo_path) -> Session:
    return make_session(demo_path)
