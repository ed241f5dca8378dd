"""Home: today's work (SPEC 4.7) — limitation alerts first, then actions, promises, plans."""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from kyusho.errors import KyushoError, PermissionDenied
from kyusho.rules.dates import format_date
from kyusho.services import contacts, decisions
from kyusho.services.claims import ClaimView, claim_view
from kyusho.services.worklist import WorkItem, default_scope_is_all, worklist
from screens import forms
from screens.context import context, deliver, failure, watch_as_of
from screens.live import LiveRefreshMixin
from screens.widgets import KeyBar, ListTable, StatusLine

KIND_LABELS = {
    "limitation": "時効",
    "approval": "決裁",
    "next_action": "次回",
    "promise": "約束",
    "broken_promise": "約束",
    "plan_arrears": "分割",
    "review": "見直",
    "suspended_receipt": "停入",
    "waiver_step": "放棄",
}
# What each kind is, in full, for the detail line under the table.
KIND_NAMES = {
    "limitation": "時効管理",
    "approval": "決裁待ち",
    "next_action": "次回行動",
    "promise": "入金約束",
    "broken_promise": "入金約束",
    "plan_arrears": "分割弁済の延滞",
    "review": "管理事務停止の見直し",
    "suspended_receipt": "停止中の入金",
    "waiver_step": "求償権放棄の手続",
}
# (key, label, width at 80 columns); the width beyond 80 goes to the obligor and the reason
COLUMNS = (
    ("kind", "種別", 4),
    ("due", "期日", 9),
    ("claim", "求償権番号", 11),
    ("obligor", "関係人", 18),
    ("reason", "理由", 26),
)
NARROW_WIDTH = 80


def column_widths(screen_width: int) -> list[int]:
    """Column widths at this screen width: a third of the extra to the name, the rest to
    the reason (so at 120 columns both show more)."""
    extra = max(0, screen_width - NARROW_WIDTH)
    widths = [w for _, _, w in COLUMNS]
    widths[3] += extra // 3
    widths[4] += extra - extra // 3
    return widths


class HomeScreen(LiveRefreshMixin, Screen[None]):
    """今日の仕事"""

    BINDINGS = [
        Binding("enter", "open", "開く", id="home.open", priority=True),
        Binding("k", "contact", "交渉記録", id="home.contact"),
        Binding("d", "done", "次回完了", id="home.done"),
        Binding("v", "reactivate", "管理再開", id="home.reactivate"),
        Binding("r,f5", "reload", "再読込", id="home.reload"),
        Binding("a", "toggle_all", "自分/全担当", id="home.toggle_all"),
        Binding("space", "toggle_select", "選択", id="home.select"),
        Binding("l", "letter", "文書", id="home.letter"),
    ]
    DEFAULT_CSS = """
    HomeScreen #home-detail {
        height: 2; padding: 0 1; background: $boost;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.all_staff: bool | None = None  # None: the role's default (staff: mine)
        self.items: list[WorkItem] = []
        self._width = NARROW_WIDTH  # the screen width the columns were laid out for
        self._shown = False  # the first read was shown (later resumes read again)
        self.selected: set[tuple[str, int]] = set()  # (claim_no, obligor_no) chosen for letters

    def compose(self) -> ComposeResult:
        yield Static("今日の仕事", classes="title", id="home-title")
        yield ListTable(id="worklist")
        # the row under the cursor in full, and what makes it leave (the row is cut at 80)
        yield Static("", id="home-detail")
        yield StatusLine()
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        self._width = self.app.size.width
        self._add_columns(table)
        table.loading = True
        table.focus()  # explicit: the footer shows the table's keys from the first frame
        self.reload()
        self.start_live_refresh()
        watch_as_of(self, lambda _: self.reload())

    def _add_columns(self, table: DataTable) -> None:
        for (key, label, _), width in zip(COLUMNS, column_widths(self._width), strict=True):
            table.add_column(label, width=width, key=key)

    def on_resize(self, event: events.Resize) -> None:
        """Wider than 80 columns: the name and reason columns take the extra width."""
        if event.size.width == self._width:
            return
        self._width = event.size.width
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        self._add_columns(table)
        items, self.items = self.items, []
        if items:
            self.show(items)
        if table.row_count:
            table.move_cursor(row=min(max(row, 0), table.row_count - 1), animate=False)

    def on_screen_resume(self) -> None:
        """Back from a claim: show the work as it is now (what was done there has left)."""
        if self._shown:
            self.reload()

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
        old_row = table.cursor_row
        if table.row_count and self.items:
            keep = self.items[min(old_row, len(self.items) - 1)]
        self.items = items
        # a selected obligor whose rows all left the list is no longer selected
        self.selected &= {(i.claim_no, i.obligor_no) for i in items if i.obligor_no is not None}
        table.clear()
        for i, item in enumerate(items):
            table.add_row(
                KIND_LABELS.get(item.kind, item.kind),
                format_date(item.due, style),
                self._claim_cell(item),
                Text(item.obligor),
                Text(item.reason),
                key=str(i),
            )
        table.loading = False
        self._shown = True
        if keep is not None:
            for i, item in enumerate(items):
                if (item.kind, item.claim_no, item.obligor) == (
                    keep.kind,
                    keep.claim_no,
                    keep.obligor,
                ):
                    table.move_cursor(row=i, animate=False)
                    break
            else:  # that row left (its work was done): stay where the user was
                if items:
                    table.move_cursor(row=min(old_row, len(items) - 1), animate=False)
        self._show_title()
        self._show_detail()

    def _show_title(self) -> None:
        who = "全担当" if self._scope_is_all() else "自分の担当"
        chosen = f"  選択 {len(self.selected)}名（l 文書）" if self.selected else ""
        self.query_one("#home-title", Static).update(
            f"今日の仕事（{who}） {len(self.items)}件{chosen}"
        )

    def _claim_cell(self, item: WorkItem) -> str:
        """The claim number, marked * when its obligor is selected for letters."""
        chosen = (item.claim_no, item.obligor_no) in self.selected
        return f"*{item.claim_no}" if chosen else item.claim_no

    def action_toggle_select(self) -> None:
        """Space: select (or unselect) the obligor of the row under the cursor for letters."""
        item = self._current()
        if item is None:
            return
        if item.obligor_no is None:
            self.notify("この行には宛先の関係人がありません", severity="warning")
            return
        pair = (item.claim_no, item.obligor_no)
        self.selected ^= {pair}
        table = self.query_one(DataTable)
        for i, other in enumerate(self.items):
            if (other.claim_no, other.obligor_no) == pair:
                table.update_cell(str(i), "claim", self._claim_cell(other))
        self._show_title()

    def letter_targets(self) -> list[tuple[str, int]]:
        """The selected obligors (or the row under the cursor), limitation alerts first, then
        in the order of the list."""
        if self.selected:
            pairs = self.selected
        else:
            item = self._current()
            if item is None or item.obligor_no is None:
                return []
            pairs = {(item.claim_no, item.obligor_no)}
        listed = [(i.claim_no, i.obligor_no) for i in self.items]
        alerts = {(i.claim_no, i.obligor_no) for i in self.items if i.kind == "limitation"}
        ordered = [p for p in dict.fromkeys(listed) if p in pairs]
        return sorted(ordered, key=lambda p: p not in alerts)  # type: ignore[return-value]

    def action_letter(self) -> None:
        """l: letters to the selected obligors, or to the obligor of the row under the cursor."""
        from screens.letters import LetterScreen

        targets = self.letter_targets()
        if not targets:
            self.notify("宛先の関係人がある行で l を押してください（Space で複数選択）")
            return
        about = ""
        if len(targets) == 1:
            claim_no, obligor_no = targets[0]
            name = next(
                (i.obligor for i in self.items if (i.claim_no, i.obligor_no) == targets[0]), ""
            )
            about = f"{claim_no} {obligor_no} {name}"
        self.app.push_screen(LetterScreen(targets, about), self._after_letters)

    def _after_letters(self, count: int | None) -> None:
        if count:
            self.selected.clear()
            self.reload()

    def _current(self) -> WorkItem | None:
        table = self.query_one(DataTable)
        if not self.items or not 0 <= table.cursor_row < len(self.items):
            return None
        return self.items[table.cursor_row]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        """The row under the cursor, uncut: what it is about and what makes it leave."""
        detail = self.query_one("#home-detail", Static)
        item = self._current()
        if item is None:
            detail.update("仕事はありません" if not self.items else "")
            return
        due = format_date(item.due, context(self).date_style()) if item.due else ""
        name = KIND_NAMES.get(item.kind, item.kind)
        if item.reason.startswith(name):
            name = ""  # 「次回行動: 再架電」 says it already
        head = " ".join(x for x in (name, due, item.claim_no, item.obligor) if x)
        text = Text(f"{head}：{item.reason}")
        leaves = getattr(item, "leaves", "")
        if leaves:
            text.append(f"\n→ {leaves}")
        detail.update(text)

    def action_done(self) -> None:
        """d: the next action under the cursor is done (it leaves the worklist)."""
        item = self._current()
        if item is None:
            return
        contact_id = getattr(item, "contact_id", None)
        if item.kind != "next_action" or contact_id is None:
            self.notify("d（完了）は次回行動の行で使えます", severity="warning")
            return
        try:  # say why at once, not after a round trip
            context(self).session.require_present("次回行動の完了")
        except PermissionDenied as exc:
            self.notify(escape(str(exc)), severity="warning")
            return
        self._mark_done(item, contact_id)

    @work(thread=True, exclusive=True, group="worklist-done", exit_on_error=False)
    def _mark_done(self, item: WorkItem, contact_id: int) -> None:
        try:
            contacts.mark_done(context(self).session, contact_id)
        except KyushoError as exc:
            deliver(self, self._done_failed, str(exc))
            return
        except Exception as exc:
            deliver(self, self._done_failed, failure("完了にできませんでした", exc))
            return
        deliver(self, self._done, item)

    def _done_failed(self, message: str) -> None:
        self.notify(escape(message), severity="error")

    def _done(self, item: WorkItem) -> None:
        what = item.reason.removeprefix("次回行動: ")
        self.notify(escape(f"次回行動「{what}」を完了にしました（{item.claim_no}）"))
        self.reload()

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if not self.items or table.cursor_row < 0:
            return
        item = self.items[table.cursor_row]
        if item.kind == "approval":
            self._open_approval(item.claim_no)
            return
        if item.kind == "waiver_step":
            from screens.waiver import WaiverScreen

            self.app.push_screen(WaiverScreen(item.claim_no))
            return
        context(self).open_claim(item.claim_no, obligor_no=item.obligor_no)

    @work(thread=True, exclusive=True, group="home-approval", exit_on_error=False)
    def _open_approval(self, claim_no: str) -> None:
        """An approval row: the decision itself when one awaits this user on that claim,
        else the inbox of that claim's pending decisions."""
        try:
            found = decisions.list_decisions(
                context(self).session, pending=True, claim_no=claim_no, awaiting_me=True
            )
        except Exception as exc:
            deliver(self, self._failed, failure("決裁を読み込めませんでした", exc))
            return
        ids = [d.id for d in found]
        deliver(self, self._show_approval, claim_no, ids)

    def _show_approval(self, claim_no: str, ids: list[int]) -> None:
        from screens.approvals import ApprovalsScreen, DecisionViewScreen

        if len(ids) == 1:
            self.app.push_screen(DecisionViewScreen(ids[0], claim_no))
        else:
            self.app.push_screen(ApprovalsScreen(claim_no))

    def action_reactivate(self) -> None:
        """v: propose 管理再開 for the suspended claim of a review (or a receipt) row."""
        from screens.decision import DecisionScreen

        item = self._current()
        if item is None:
            return
        if item.kind not in ("review", "suspended_receipt"):
            self.notify(
                "v（管理再開）は管理事務停止の見直し・停止中の入金の行で使えます",
                severity="warning",
            )
            return
        try:  # say why at once, not after the steps
            context(self).session.require_present("決裁の起案")
        except PermissionDenied as exc:
            self.notify(escape(str(exc)), severity="warning")
            return
        self.app.push_screen(
            DecisionScreen(item.claim_no, kind="reactivation"),
            lambda r: self.reload() if r is not None else None,
        )

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
            forms.ContactFormScreen(spec),
            lambda r: (self.notify("記録しました"), self.reload()) if r else None,
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()
