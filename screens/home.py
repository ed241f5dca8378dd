"""Home: today's work (SPEC 4.7) — limitation alerts first, then actions, promises, plans."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from kyusho.rules.dates import format_date
from kyusho.services.claims import claim_view
from kyusho.services.worklist import WorkItem, default_scope_is_all, worklist
from screens import forms
from screens.form import FormScreen
from screens.live import LiveRefreshMixin
from screens.widgets import KeyBar, StatusLine

KIND_LABELS = {
    "limitation": "時効",
    "approval": "決裁",
    "next_action": "次回",
    "broken_promise": "約束",
    "plan_arrears": "分割",
    "review": "見直",
}


class HomeScreen(LiveRefreshMixin, Screen[None]):
    """今日の仕事"""

    BINDINGS = [
        Binding("enter", "open", "開く", id="home.open", priority=True),
        Binding("r,f5", "reload", "再読込", id="home.reload"),
        Binding("k", "contact", "交渉記録", id="home.contact"),
        Binding("a", "toggle_all", "自分/全担当", id="home.toggle_all"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.all_staff: bool | None = None  # None: the role's default (staff: mine)
        self.items: list[WorkItem] = []

    def compose(self) -> ComposeResult:
        yield Static("今日の仕事", classes="title", id="home-title")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="worklist")
        yield StatusLine()
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("種別", width=4, key="kind")
        table.add_column("期日", width=9, key="due")
        table.add_column("求償権番号", width=11, key="claim")
        table.add_column("関係人", width=18, key="obligor")
        table.add_column("理由", width=26, key="reason")
        table.loading = True
        table.focus()  # explicit: the footer shows the table's keys from the first frame
        self.reload()
        self.start_live_refresh()

    def action_reload(self) -> None:
        self.reload()

    def on_data_changed(self) -> None:
        self.reload()

    def action_toggle_all(self) -> None:
        current = (
            self.all_staff if self.all_staff is not None else default_scope_is_all(self.app.session)
        )  # type: ignore[attr-defined]
        self.all_staff = not current
        self.reload()

    def reload(self) -> None:
        app = self.app
        session = app.session  # type: ignore[attr-defined]
        as_of = app.as_of  # type: ignore[attr-defined]
        all_staff = self.all_staff

        def work() -> list[WorkItem]:
            return worklist(session, as_of=as_of, all_staff=all_staff)

        self.run_worker(
            work,
            thread=True,
            exit_on_error=False,
            exclusive=True,
            group="worklist",
            name="worklist",
        )

    def on_worker_state_changed(self, event) -> None:
        from textual.worker import WorkerState

        if event.worker.name == "contact-view" and event.state == WorkerState.SUCCESS:
            self._open_contact(event.worker.result)
            return
        if event.worker.name != "worklist":
            return
        if event.state == WorkerState.SUCCESS:
            self.show(event.worker.result)
        elif event.state == WorkerState.ERROR:
            self.query_one(DataTable).loading = False
            self.notify(f"今日の仕事を読み込めませんでした: {event.worker.error}", severity="error")

    def show(self, items: list[WorkItem]) -> None:
        table = self.query_one(DataTable)
        style = self.app.date_style()  # type: ignore[attr-defined]
        keep = None
        if table.row_count and self.items:
            keep = self.items[min(table.cursor_row, len(self.items) - 1)]
        self.items = items
        table.clear()
        for i, item in enumerate(items):
            table.add_row(
                KIND_LABELS.get(item.kind, item.kind),
                format_date(item.due, style),
                item.claim_no,
                Text(item.obligor),
                Text(item.reason),
                key=str(i),
            )
        table.loading = False
        if keep is not None:
            for i, item in enumerate(items):
                if (item.kind, item.claim_no, item.obligor) == (
                    keep.kind,
                    keep.claim_no,
                    keep.obligor,
                ):
                    table.move_cursor(row=i, animate=False)
                    break
        scope = (
            self.all_staff if self.all_staff is not None else default_scope_is_all(self.app.session)
        )  # type: ignore[attr-defined]
        who = "全担当" if scope else "自分の担当"
        self.query_one("#home-title", Static).update(f"今日の仕事（{who}） {len(items)}件")

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if not self.items or table.cursor_row < 0:
            return
        self.app.open_claim(self.items[table.cursor_row].claim_no)  # type: ignore[attr-defined]

    def action_contact(self) -> None:
        """Record a contact for the item under the cursor without leaving the worklist."""
        table = self.query_one(DataTable)
        if not self.items or table.cursor_row < 0:
            return
        item = self.items[table.cursor_row]
        session = self.app.session  # type: ignore[attr-defined]

        def work():
            return claim_view(session, item.claim_no, history=False)

        self._contact_for = item
        self.run_worker(work, thread=True, exit_on_error=False, exclusive=True, name="contact-view")

    def _open_contact(self, view) -> None:
        item = self._contact_for
        spec = forms.contact_form(self.app.session, view, item.obligor_no)  # type: ignore[attr-defined]
        self.app.push_screen(
            FormScreen(spec), lambda r: (self.notify("記録しました"), self.reload()) if r else None
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()
