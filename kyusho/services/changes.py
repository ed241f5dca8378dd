"""Other users' commits, noticed cheaply, so screens can reload without polling the tables."""

from __future__ import annotations

from kyusho.services.session import Session
from models.db import ChangeWatcher
from models.pg import PgChangeWatcher


def change_watcher(session: Session) -> ChangeWatcher | PgChangeWatcher:
    """A watcher on its own read-only connection; ``changed()`` is true after others commit."""
    if session.db_url is not None:
        return PgChangeWatcher(session.db_url, session.login)
    assert session.db_path is not None
    return ChangeWatcher(session.db_path)


__all__ = ["ChangeWatcher", "PgChangeWatcher", "change_watcher"]
