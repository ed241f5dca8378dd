"""Other users' commits, noticed cheaply, so screens can reload without polling the tables."""

from __future__ import annotations

from kyusho.services.session import Session
from models.db import ChangeWatcher


def change_watcher(session: Session) -> ChangeWatcher:
    """A watcher on its own read-only connection; ``changed()`` is true after others commit."""
    return ChangeWatcher(session.db_path)


__all__ = ["ChangeWatcher", "change_watcher"]
