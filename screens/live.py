"""Live refresh: screens notice other users' writes and reload without losing the cursor."""

from __future__ import annotations

from textual import work
from textual.screen import Screen

from kyusho.services.changes import ChangeWatcher, PgChangeWatcher, change_watcher
from screens.context import context, deliver


class LiveRefreshMixin(Screen[None]):
    """Polls SQLite's data_version in a thread worker; calls ``on_data_changed`` on change."""

    _watcher: ChangeWatcher | PgChangeWatcher | None = None

    def start_live_refresh(self) -> None:
        session = context(self).session
        self._watcher = change_watcher(session)
        self.set_interval(session.config.refresh_seconds, self._poll)

    def _poll(self) -> None:
        if self._watcher is not None and self.is_current:
            self._check(self._watcher)

    @work(thread=True, exclusive=True, group="live-poll", exit_on_error=False)
    def _check(self, watcher: ChangeWatcher | PgChangeWatcher) -> None:
        """A failed check is silent: the next tick tries again."""
        if watcher.changed():
            deliver(self, self.on_data_changed)

    def on_data_changed(self) -> None:  # pragma: no cover - overridden
        pass

    def on_unmount(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
