"""Small shared widgets: the status line."""

from __future__ import annotations

from textual.widgets import Static

from kyusho.dates import format_date
from kyusho.vocab import STAFF_ROLES


class StatusLine(Static):
    """Database, user and role, and the as-of date when the UI is viewed as of the past."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        background: $panel;
        color: $text-muted;
        padding: 0 1;
    }
    """

    def on_mount(self) -> None:
        app = self.app
        session = app.session  # type: ignore[attr-defined]
        parts = [f"DB {session.db_path.name}", f"{session.login}（{STAFF_ROLES[session.role]}）"]
        if session.view_as_of:
            parts.append(f"時点 {format_date(session.view_as_of, session.config.dates)}")
        else:
            parts.append(f"本日 {format_date(session.today(), session.config.dates)}")
        self.update(" │ ".join(parts))
