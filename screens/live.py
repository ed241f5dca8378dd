"""Live refresh: screens notice other users' writes and reload without losing the cursor."""

from __future__ import annotations

from kyusho.services.changes import ChangeWatcher, change_watcher

QUIET_WORKERS = {
    "live-poll": "他の利用者の変更を確認できませんでした",
    "contact-view": "求償権を読み込めませんでした",
    "filters": "絞り込みの候補を読み込めませんでした",
}


class LiveRefreshMixin:
    """Polls SQLite's data_version in a thread worker; calls ``on_data_changed`` on change."""

    _watcher: ChangeWatcher | None = None

    def start_live_refresh(self) -> None:
        session = self.app.session  # type: ignore[attr-defined]
        self._watcher = change_watcher(session)
        self.set_interval(session.config.refresh_seconds, self._poll)  # type: ignore[attr-defined]

    def _poll(self) -> None:
        watcher = self._watcher
        if watcher is None or not self.is_current:  # type: ignore[attr-defined]
            return

        def work() -> bool:
            return watcher.changed()

        self.run_worker(
            work,
            thread=True,
            exit_on_error=False,
            exclusive=True,
            group="live-poll",
            name="live-poll",
        )  # type: ignore[attr-defined]

    def on_worker_state_changed(self, event) -> None:  # chained by screens that define their own
        from textual.worker import WorkerState

        if (
            event.worker.name == "live-poll"
            and event.state == WorkerState.SUCCESS
            and event.worker.result
        ):
            self.on_data_changed()

    def on_data_changed(self) -> None:  # pragma: no cover - overridden
        pass

    def on_unmount(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
