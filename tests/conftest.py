"""Shared fixtures: a fresh database, and a small demo database pinned to a fixed day."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from kyusho.config import Config
from kyusho.services.session import Session, open_session
from kyusho.services.staff import init_database

# Tests see a fixed "today" so dates, alerts and snapshots never drift.
TODAY = date(2026, 11, 22)
ADMIN = "kadmin"

os.environ.pop("KYUSHO_CONFIG", None)


@pytest.fixture(autouse=True)
def _isolated_config(monkeypatch, tmp_path):
    """No test reads the developer's or the machine's kyusho.toml."""
    monkeypatch.delenv("KYUSHO_CONFIG", raising=False)
    monkeypatch.setattr("kyusho.config.SYSTEM_CONFIG", tmp_path / "no-system-config.toml")
    monkeypatch.setattr("kyusho.config.user_config_path", lambda: tmp_path / "no-user-config.toml")


def make_session(path: Path, login: str = ADMIN, config: Config | None = None) -> Session:
    session = open_session(config or Config(db_path=path), path, login=login)
    session.pin(TODAY)
    return session


@pytest.fixture
def db_path(tmp_path) -> Path:
    path = tmp_path / "kyusho.db"
    init_database(path, ADMIN, "管理者")
    return path


@pytest.fixture
def session(db_path) -> Session:
    """An admin session on a new, empty database."""
    return make_session(db_path)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """One demo database built once per test run (copied per test that needs it)."""
    from kyusho.demo import build_demo

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    build_demo(path, claims=120, seed=7, admin_login=ADMIN, today=TODAY)
    return path


@pytest.fixture
def demo_path(demo_template, tmp_path) -> Path:
    import sqlite3

    dest = tmp_path / "demo.db"
    src = sqlite3.connect(str(demo_template))
    dst = sqlite3.connect(str(dest))
    src.backup(dst)
    src.close()
    dst.close()
    os.chmod(dest, 0o660)
    return dest


@pytest.fixture
def demo_session(demo_path) -> Session:
    return make_session(demo_path)
