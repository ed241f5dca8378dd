"""Home: today's work (SPEC 4.7) — limitation alerts first, then actions, promises, plans."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from kyusho.errors import PermissionDenied
from kyusho.rules.dates import format_date
from kyusho.services.claims import ClaimView, claim_view
from kyusho.services.worklist import WorkItem, default_scope_is_all, worklist
from screens import forms
from screens.context import context, deliver, failure, watch_as_of
from screens.form import FormScreen
from screens.live import LiveRefreshMixin
from screens.widgets import KeyBar, ListTable, StatusLine

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
        yield ListTable(id="worklist")
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
        watch_as_of(self, lambda _: self.reload())

    def action_reload(self) -> None:
        self.reload()

    def on_data_changed(self) -> None:
        self.reload()

    def _scope_is_all(self) -> bool:
        if self.all_staff is not None:
            return self.all_staff
        return default_scope_is_all(context(self).session)

    def action_toggle_all(self) -> None:
        self.all_staff = not self._scope_is_all()
        self.reload()

    @work(thread=True, exclusive=True, group="worklist", exit_on_error=False)
    def reload(self) -> None:
        ctx = context(self)
        try:
            items = worklist(ctx.session, as_of=ctx.as_of, all_staff=self.all_staff)
        except Exception as exc:  # shown, never raised into the UI
            deliver(self, self._failed, failure("今日の仕事を読み込めませんでした", exc))
            return
        deliver(self, self.show, items)

    def _failed(self, message: str) -> None:
        self.query_one(DataTable).loading = False
        self.notify(message, severity="error")

    def show(self, items: list[WorkItem]) -> None:
        table = self.query_one(DataTable)
        style = context(self).date_style()
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
        who = "全担当" if self._scope_is_all() else "自分の担当"
        self.query_one("#home-title", Static).update(f"今日の仕事（{who}） {len(items)}件")

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if not self.items or table.cursor_row < 0:
            return
        item = self.items[table.cursor_row]
        context(self).open_claim(item.claim_no, obligor_no=item.obligor_no)

    def action_contact(self) -> None:
        """Record a contact for the item under the cursor without leaving the worklist."""
        table = self.query_one(DataTable)
        if not self.items or table.cursor_row < 0:
            return
        try:  # say why before the form is filled in, not after
            context(self).session.require_present("交渉記録の登録")
        except PermissionDenied as exc:
            self.notify(str(exc), severity="warning")
            return
        self._read_for_contact(self.items[table.cursor_row])

    @work(thread=True, exclusive=True, group="contact-view", exit_on_error=False)
    def _read_for_contact(self, item: WorkItem) -> None:
        try:
            view = claim_view(context(self).session, item.claim_no, history=False)
        except Exception as exc:
            deliver(self, self._failed, failure("求償権を読み込めませんでした", exc))
            return
        deliver(self, self._open_contact, item, view)

    def _open_contact(self, item: WorkItem, view: ClaimView) -> None:
        spec = forms.contact_form(context(self).session, view, item.obligor_no)
        self.app.push_screen(
            FormScreen(spec), lambda r: (self.notify("記録しました"), self.reload()) if r else None
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()
