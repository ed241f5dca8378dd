"""The help screen: every binding of the screen it was opened from, and the global ones."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static

from screens.widgets import WrappedText

GUIDE = (
    "ctrl+p: コマンドパレット（求償権番号・氏名・カナで検索） / ctrl+q: 終了 / "
    '↑↓ PgUp PgDn Home End: 移動 / キーの変更は kyusho.toml の [keymap] に ID = "キー" で書きます'
)


def _keys(key: str) -> str:
    return key.replace("question_mark", "?").replace("slash", "/")


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f1", "dismiss", "閉じる", id="help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > #help-box { width: 78; height: 22; border: round $accent; background: $surface; }
    HelpScreen DataTable { height: 1fr; }
    HelpScreen #help-guide { height: auto; color: $text-muted; }
    """

    def __init__(self, origin: Screen) -> None:
        super().__init__()
        self.origin = origin

    def compose(self) -> ComposeResult:
        from textual.containers import Vertical

        with Vertical(id="help-box"):
            yield Static(
                f"キー操作 — {self.origin.__class__.__doc__.splitlines()[0] if self.origin.__class__.__doc__ else ''}"
            )
            yield DataTable(cursor_type="row", zebra_stripes=True)
            yield WrappedText(Text(GUIDE), id="help-guide")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("キー", "操作", "ID")
        rows: dict[str, list[str]] = {}
        for key, active in self.origin.active_bindings.items():
            b = active.binding
            if not b.id:
                continue  # built-in widget keys (arrows etc.) are summarised below the table
            if b.id in rows:
                rows[b.id][0] += f", {_keys(key)}"
                continue
            rows[b.id] = [_keys(key), b.description or b.action]
        for bid, (keys, description) in sorted(
            rows.items(), key=lambda kv: (kv[0].startswith("app."), kv[0])
        ):
            table.add_row(keys, description, bid)
        table.focus()
