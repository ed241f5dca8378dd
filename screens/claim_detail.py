"""The claim detail: balances, each obligor's limitation clock, and tabs for everything else.

Shown as the claim stood at the end of the app's as-of date. Opening a claim reads it first
(``KyushoApp.open_claim``, in a thread worker) and then builds this screen with the view, so
the read does not compete with building the screen for the GIL. Reloads (live refresh, F4,
after a form) read in this screen's own thread worker. Only the first tab's table is built
with the screen; the others are built from the view already held the first time they are
shown. User text is shown as plain text (never markup).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime

from rich.markup import escape
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import ContentSwitcher, DataTable, Static
from textual.widgets.data_table import RowDoesNotExist

from kyusho.errors import InputError, KyushoError
from kyusho.rules.dates import format_date, format_datetime, format_month
from kyusho.rules.money import format_yen
from kyusho.services import waiver
from kyusho.services.claims import ClaimView, claim_view
from kyusho.vocab import (
    ALLOCATION_ORDERS,
    CLAIM_STATUSES,
    CONTACT_CHANNELS,
    DECISION_KINDS,
    DECISION_STATUSES,
    ENTRY_KINDS,
    EVENT_KINDS,
    LIMITATION_STATES,
    OBLIGOR_STATES,
    RECEIPT_METHODS,
)
from screens import forms
from screens.contact_view import ContactViewScreen, contact_lines
from screens.context import context, deliver, failure, watch_as_of
from screens.form import FormScreen
from screens.live import LiveRefreshMixin
from screens.widgets import KeyBar, ListTable, StatusLine, TabBar

TABS = [
    ("obligors", "関係人"),
    ("ledger", "明細"),
    ("plans", "分割"),
    ("contacts", "交渉"),
    ("events", "時効事由"),
    ("decisions", "決裁"),
    ("history", "履歴"),
]

ROLE_SHORT = {
    "principal_debtor": "主債務者",
    "joint_guarantor": "保証人",
    "collateral_provider": "物上保証",
}
BASIS_LABELS = {
    **EVENT_KINDS,
    "subrogation": "代弁",
    "receipt": "入金",
    "acknowledgement": "承認",
    "judgment_final": "判決等",
    "enforcement_ended": "執行終了",
}


def plain(value: object) -> Text:
    """User data as text, never interpreted as markup."""
    return Text("" if value is None else str(value))


def _compact(cell: object) -> object:
    """A left-aligned cell of a compact table, one space in (right-aligned numbers get their
    space from the column being one wider)."""
    if isinstance(cell, Text):
        return cell if cell.justify == "right" else Text(" ") + cell
    return " " + str(cell)


def yen(amount: int | None) -> Text:
    return Text("" if amount is None else format_yen(amount, unit=False), justify="right")


# Each tab's table columns: (label, width).
COLUMNS: dict[str, tuple[tuple[str, int], ...]] = {
    "obligors": (
        ("番", 2),
        ("区分", 8),
        ("氏名", 12),
        ("時効完成", 9),
        ("自身", 9),
        ("時効", 6),
        ("根拠", 14),
    ),
    # 費用・損害金・元金: how the receipt was allocated; 元金残高: the principal after the entry
    "ledger": (
        ("日付", 9),
        ("種別", 4),
        ("金額", 10),
        ("入金者", 6),
        ("費用", 7),
        ("損害金", 9),
        ("元金", 10),
        ("元金残高", 10),
        ("", 4),
    ),
    "plans": (
        ("関係人", 12),
        ("開始", 9),
        ("終了", 9),
        ("月額", 9),
        ("支払日", 6),
        ("状態", 6),
        ("延滞", 10),
    ),
    # 担当 and the note: in the detail line and the contact in full (Enter)
    "contacts": (
        ("日時", 14),
        ("関係人", 10),
        ("方法", 4),
        ("結果", 10),
        ("約束", 10),
        ("次回", 10),
        ("", 4),
    ),
    "events": (
        ("日付", 9),
        ("関係人", 14),
        ("事由", 14),
        ("終了日", 9),
        ("", 4),
        ("入力者", 10),
    ),
    "decisions": (
        ("番号", 4),
        ("種類", 14),
        ("状態", 8),
        ("起案", 8),
        ("決裁", 8),
        ("理由", 18),
    ),
    "history": (("日時", 16), ("担当", 8), ("操作", 16), ("内容", 28)),
}
# The columns that take the width beyond 80 columns (names, reasons, notes), per tab.
WIDEN: dict[str, tuple[int, ...]] = {
    "obligors": (2, 6),
    "ledger": (3,),
    "plans": (0,),
    "contacts": (1, 3),
    "events": (1,),
    "decisions": (5,),
    "history": (3,),
}
NARROW_WIDTH = 80


def column_widths(key: str, screen_width: int) -> list[int]:
    """The tab's column widths at this screen width: the 80-column layout, with the width
    beyond 80 shared by the name and reason columns (so 120 columns show more of them)."""
    widths = [w for _, w in COLUMNS[key]]
    wide = WIDEN.get(key, ())
    extra = max(0, screen_width - NARROW_WIDTH)
    for n, i in enumerate(wide):
        widths[i] += extra // len(wide) + (1 if n < extra % len(wide) else 0)
    return widths


# Tables too wide for 80 columns with the default padding (two cells per column): one space
# before each column instead, written into the cells (``_compact``).
COMPACT = frozenset({"ledger"})
FIRST_TAB = TABS[0][0]
PLAN_STATUSES = {"active": "有効", "superseded": "変更済", "completed": "完了", "cancelled": "取消"}

Row = tuple[tuple[object, ...], str | None]  # a table row's cells and its key (a record id)

# What each recorded write did, in the words of the screens that made it.
HISTORY_ACTIONS = {
    "receipt.post": "入金を記録",
    "cost.post": "費用を記録",
    "damages_waiver.post": "損害金減免を記録",
    "receipt.cancel": "入金を取消",
    "cost.cancel": "費用を取消",
    "damages_waiver.cancel": "損害金減免を取消",
    "contact.add": "交渉を記録",
    "contact.cancel": "交渉を取消",
    "next_action.done": "次回行動を完了",
    "event.add": "時効事由を記録",
    "event.cancel": "時効事由を取消",
    "plan.add": "分割約定を記録",
    "claim.update": "求償権を変更",
    "claim.status": "状態を変更",
    "decision.propose": "決裁を起案",
    "decision.approve": "決裁",
    "decision.reject": "決裁を差戻し",
    "decision.withdraw": "起案を取下げ",
}
CLAIM_FIELDS = {
    "allocation_order": "充当順序",
    "damages_rate": "損害金率",
    "lender": "金融機関",
    "programme": "制度融資",
    "staff": "担当者",
    "note": "メモ",
    "status": "状態",
    "insurance_type": "保険種類",
    "cover_ratio": "てん補率",
    "insurance_paid": "保険金",
    "insurance_paid_on": "保険金受領日",
}


def _history_detail(action: str, after: dict, style: str, before: dict | None = None) -> str:
    """The one line a collector reads for a recorded write (amounts, kinds, dates)."""

    def d(key: str) -> str:
        value = after.get(key)
        try:
            return format_date(date.fromisoformat(str(value)[:10]), style) if value else ""
        except ValueError:
            return str(value)

    def amount(key: str) -> str:
        value = after.get(key)
        return format_yen(value) if isinstance(value, int) else ""

    kind, _, verb = action.partition(".")
    if kind in ENTRY_KINDS or kind in ("receipt", "cost", "damages_waiver"):
        return " ".join(x for x in (amount("amount"), d("date")) if x)
    if kind == "contact":
        channel = CONTACT_CHANNELS.get(str(after.get("channel")), "")
        return " ".join(str(x) for x in (channel, after.get("outcome") or "") if x)
    if kind == "event":
        return " ".join(x for x in (EVENT_KINDS.get(str(after.get("kind")), ""), d("date")) if x)
    if kind == "plan":
        return f"月額 {amount('monthly_amount')}" if amount("monthly_amount") else ""
    if kind == "claim":
        if verb == "status":
            return CLAIM_STATUSES.get(str(after.get("status")), "")
        changed = [k for k in after if k in CLAIM_FIELDS]
        if before:  # only what the edit changed, not every field of the snapshot
            changed = [k for k in changed if before.get(k) != after.get(k)] or changed
        return "・".join(CLAIM_FIELDS[k] for k in changed)
    if kind == "decision":
        return DECISION_KINDS.get(str(after.get("kind")), str(after.get("kind") or ""))
    return ""


def history_line(
    action: str, after: dict, style: str, before: dict | None = None
) -> tuple[str, str]:
    """(操作, 内容) of a history row: 「入金を記録」「100,000円 R8.11.22」."""
    label = HISTORY_ACTIONS.get(action)
    if label is None:
        kind, _, verb = action.partition(".")
        label = f"{ENTRY_KINDS.get(kind, kind)} {verb}".strip()
    return label, _history_detail(action, after, style, before)


class ClaimDetailScreen(LiveRefreshMixin, Screen[None]):
    """求償権の詳細"""

    DEFAULT_CSS = """
    ClaimDetailScreen #detail-row {
        height: auto; max-height: 3; padding: 0 1; background: $boost;
    }
    ClaimDetailScreen #detail-waiver { display: none; height: auto; padding: 0 1; }
    """

    BINDINGS = [
        Binding("escape,backspace", "back", "戻る", id="detail.back"),
        Binding("n", "receipt", "入金", id="detail.receipt"),
        Binding("c", "cost", "費用", id="detail.cost"),
        Binding("e", "event", "時効事由", id="detail.event"),
        Binding("k", "contact", "交渉", id="detail.contact"),
        Binding("p", "plan", "分割", id="detail.plan"),
        Binding("x", "cancel_entry", "取消", id="detail.cancel"),
        Binding("u", "edit", "編集", id="detail.edit"),
        Binding("d", "decide", "決裁", id="detail.decide"),
        Binding("l", "letter", "文書", id="detail.letter"),
        Binding("w", "waiver", "放棄", id="detail.waiver"),
        Binding("r,f5", "reload", "再読込", id="detail.reload"),
        *[
            Binding(str(i + 1), f"tab('{key}')", label, show=False, id=f"detail.tab_{key}")
            for i, (key, label) in enumerate(TABS)
        ],
    ]

    def __init__(
        self, claim_no: str, view: ClaimView | None = None, obligor_no: int | None = None
    ) -> None:
        """``view``: the claim already read (by ``KyushoApp.open_claim``); without it the
        screen reads the claim itself in a thread worker. ``obligor_no``: the obligor the user
        came for (a guarantor's alert on the worklist): the cursor starts on that row."""
        super().__init__()
        self.claim_no = claim_no
        self._start_obligor = obligor_no
        self.view: ClaimView | None = None
        self._preloaded = view
        self._tables: dict[str, DataTable] = {}  # the tabs whose table is built
        self._width = NARROW_WIDTH  # the screen width the columns were laid out for
        self._opened = 0  # how many claims this screen has shown (load): a read started for
        # an earlier one is not shown

    def compose(self) -> ComposeResult:
        yield Static(Text(f"求償権 {self.claim_no}"), classes="title", id="detail-title")
        yield Static("読込中…", id="detail-summary")
        yield Static("", id="detail-waiver")
        yield TabBar(list(TABS), FIRST_TAB, id="detail-tabbar")
        with ContentSwitcher(initial=f"table-{FIRST_TAB}", id="detail-tabs"):
            # the other tabs' tables are built when first shown
            yield ListTable(id=f"table-{FIRST_TAB}")
        # the whole row under the cursor: the columns cut long names and notes at 80 columns
        yield Static("", id="detail-row")
        yield StatusLine()
        yield KeyBar()

    def on_mount(self) -> None:
        self._width = self.app.size.width
        table = self.query_one(f"#table-{FIRST_TAB}", DataTable)
        self._add_columns(FIRST_TAB, table)
        self._tables[FIRST_TAB] = table
        table.focus()
        view, self._preloaded = self._preloaded, None
        if view is None:
            self.reload()
        else:
            self.show(view)
        self.start_live_refresh()
        watch_as_of(self, lambda _: self.reload())  # F4 chose another date: show it as of then

    def load(self, claim_no: str, view: ClaimView, obligor_no: int | None = None) -> None:
        """Show another claim in this screen, kept from an earlier open (KyushoApp.open_claim):
        as a new screen would start (first tab, every cursor at the top), without building
        its widgets again. Opening claims one after another all day costs only the read."""
        self.workers.cancel_group(self, "detail")
        self.workers.cancel_group(self, "detail-waiver")
        self._opened += 1
        self.claim_no = claim_no
        self._start_obligor = obligor_no
        self.view = None
        for table in self._tables.values():
            table.clear()
        waiver_line = self.query_one("#detail-waiver", Static)
        waiver_line.display = False
        waiver_line.update("")
        self.show(view)
        self.action_tab(FIRST_TAB)

    def _staff(self, login: str | None) -> str:
        names = self.view.staff_names if self.view is not None else {}
        return names.get(login or "", login or "")

    def _add_columns(self, key: str, table: DataTable) -> None:
        labels = [label for label, _ in COLUMNS[key]]
        for label, width in zip(labels, column_widths(key, self._width), strict=True):
            if key in COMPACT:
                table.add_column(_compact(label), width=width + 1)
            else:
                table.add_column(label, width=width)

    def _table(self, key: str) -> DataTable:
        """The tab's table, built (and filled from the view held) the first time it is needed."""
        table = self._tables.get(key)
        if table is None:
            table = ListTable(
                id=f"table-{key}",
                cell_padding=0 if key in COMPACT else 1,
            )
            table.display = False  # until the switcher shows it
            self.query_one(ContentSwitcher).mount(table)
            self._add_columns(key, table)
            self._tables[key] = table
            if self.view is not None:
                self._fill_table(key, self.view)
        return table

    def on_resize(self, event: events.Resize) -> None:
        """Wider than 80 columns: the name and reason columns take the extra width."""
        if event.size.width == self._width:
            return
        self._width = event.size.width
        for key, table in self._tables.items():
            row = table.cursor_row
            table.clear(columns=True)
            self._add_columns(key, table)
            if self.view is not None:
                self._fill_table(key, self.view)
                if table.row_count:
                    table.move_cursor(row=min(max(row, 0), table.row_count - 1), animate=False)
        self._show_row()

    @property
    def active_tab(self) -> str:
        return self.query_one(TabBar).active

    def on_tab_bar_selected(self, event: TabBar.Selected) -> None:
        self.action_tab(event.key)

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def reload(self) -> None:
        ctx = context(self)
        opened = self._opened
        try:
            view = claim_view(ctx.session, self.claim_no, ctx.as_of)
        except Exception as exc:  # shown in the summary line, never raised into the UI
            deliver(self, self._failed, failure("読み込めませんでした", exc))
            return
        deliver(self, self._reloaded, opened, view)

    def _reloaded(self, opened: int, view: ClaimView) -> None:
        if opened == self._opened:  # still the claim this read was for
            self.show(view)

    def _failed(self, message: str) -> None:
        self.query_one("#detail-summary", Static).update(Text(message))

    @work(thread=True, exclusive=True, group="detail-waiver", exit_on_error=False)
    def _load_waiver(self, claim_no: str) -> None:
        """Where each municipality stands, when the claim has a 求償権放棄 case (one line)."""
        session = context(self).session
        try:
            facts = (
                waiver.municipality_facts(session, claim_no)
                if waiver.case_for(session, claim_no)
                else []
            )
        except KyushoError:
            facts = []
        deliver(self, self._show_waiver, facts)

    def _show_waiver(self, facts: list[waiver.MunicipalityFacts]) -> None:
        line = self.query_one("#detail-waiver", Static)
        line.display = bool(facts)
        parts = []
        for f in facts:
            when = f"{f.step_label} {self._d(f.history[-1].on)}" if f.history else f.step_label
            parts.append(f"{f.name}（{when}）")
        line.update(Text("放棄 " + "・".join(parts)) if parts else "")

    def action_waiver(self) -> None:
        """w: the 求償権放棄 case of this claim (scheme, municipalities, walk-through, steps)."""
        from screens.waiver import WaiverScreen

        self.app.push_screen(WaiverScreen(self.claim_no), lambda _: self.reload())

    def on_data_changed(self) -> None:
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    # ------------------------------------------------------------------ entry forms

    def _open_form(self, build, *args) -> None:
        if self.view is None:
            self.notify("読込中です", severity="warning")
            return
        try:
            session = context(self).session
            session.require_present("登録・変更")  # say why before the form is filled in
            spec = build(session, self.view, *args)
        except KyushoError as exc:  # e.g. an event on a collateral provider: say why, no form
            message = exc.message if isinstance(exc, InputError) else str(exc)
            self.notify(escape(message), severity="warning")
            return
        self.app.push_screen(FormScreen(spec), self._after_form)

    def _after_form(self, result) -> None:
        if result == "unchanged":
            self.notify("変更はありません")
        elif result is not None:
            self.notify("記録しました")
        self.reload()  # also after a refused or cancelled form: show what is stored now

    def action_edit(self) -> None:
        self._open_form(forms.claim_edit_form)

    def _cursor_key(self, key: str) -> int | None:
        """The record id (the row key) under the cursor of the tab's table, if any."""
        table = self._tables.get(key)
        if table is None or not table.row_count or table.cursor_row < 0:
            return None
        return int(table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value)

    def _selected_obligor(self) -> int | None:
        """The obligor under the cursor: on the obligors tab, or the contact's on the 交渉 tab."""
        if self.active_tab == FIRST_TAB:
            return self._cursor_key(FIRST_TAB)
        if self.active_tab == "contacts" and self.view is not None:
            contact = self._contact(self._cursor_key("contacts"))
            if contact is not None and contact.obligor_id is not None:
                return self._obligor_no(self.view, contact.obligor_id)
        return None

    def _contact(self, contact_id: int | None):
        if self.view is None or contact_id is None:
            return None
        return next((c for c in self.view.contacts if c.id == contact_id), None)

    @staticmethod
    def _obligor_no(view: ClaimView, obligor_id: int) -> int | None:
        return next((o.row.obligor_no for o in view.obligors if o.row.id == obligor_id), None)

    def action_receipt(self) -> None:
        self._open_form(forms.receipt_form, self._selected_obligor())

    def action_cost(self) -> None:
        self._open_form(forms.cost_form)

    def action_event(self) -> None:
        self._open_form(forms.event_form, self._selected_obligor())

    def action_contact(self) -> None:
        if self.view is None:
            self.notify("読込中です", severity="warning")
            return
        session = context(self).session
        try:
            session.require_present("登録・変更")  # say why before the form is filled in
        except KyushoError as exc:
            self.notify(escape(str(exc)), severity="warning")
            return
        spec = forms.contact_form(session, self.view, self._selected_obligor())
        self.app.push_screen(forms.ContactFormScreen(spec), self._after_form)

    def action_open_contact(self) -> None:
        """The contact under the cursor in full (its note, promise, next action, who, when)."""
        contact = self._contact(self._cursor_key("contacts"))
        if contact is None or self.view is None:
            return
        style = context(self).date_style()
        obligor = self._payer(self.view, contact.obligor_id).plain
        title = f"交渉記録 — {self.claim_no}" + ("（取消）" if self._cancelled(contact) else "")
        lines = contact_lines(contact, obligor, self.view.staff_names, style)
        self.app.push_screen(ContactViewScreen(title, lines, contact.note or ""))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "table-contacts":
            event.stop()
            self.action_open_contact()
        elif event.data_table.id == "table-decisions":
            event.stop()
            self.action_open_decision()

    def action_open_decision(self) -> None:
        """The decision under the cursor in full, with approve / reject / withdraw."""
        from screens.approvals import DecisionViewScreen

        decision_id = self._cursor_key("decisions")
        if decision_id is not None:
            self.app.push_screen(
                DecisionViewScreen(decision_id, self.claim_no), lambda _: self.reload()
            )

    def action_decide(self) -> None:
        """d: propose a decision on this claim; the obligor under the cursor on the 関係人 tab
        is the guarantor a release is for."""
        from screens.decision import DecisionScreen

        if self.view is None:
            self.notify("読込中です", severity="warning")
            return
        try:
            context(self).session.require_present("決裁の起案")
        except KyushoError as exc:
            self.notify(escape(str(exc)), severity="warning")
            return
        obligor_no = self._cursor_key(FIRST_TAB) if self.active_tab == FIRST_TAB else None
        name = next((o.row.name for o in self.view.obligors if o.row.obligor_no == obligor_no), "")
        self.app.push_screen(
            DecisionScreen(self.claim_no, obligor_no=obligor_no, obligor_name=name),
            self._after_decision,
        )

    def action_letter(self) -> None:
        """l: a letter (督促状・催告書・約定書) to the obligor under the cursor on the 関係人 tab."""
        from screens.letters import LetterScreen

        if self.view is None:
            self.notify("読込中です", severity="warning")
            return
        obligor_no = self._cursor_key(FIRST_TAB) if self.active_tab == FIRST_TAB else None
        if obligor_no is None:
            self.notify(
                "関係人タブ（1）で宛先の関係人にカーソルを合わせてから l を押してください",
                severity="warning",
            )
            return
        name = next((o.row.name for o in self.view.obligors if o.row.obligor_no == obligor_no), "")
        self.app.push_screen(
            LetterScreen([(self.claim_no, obligor_no)], f"{self.claim_no} {obligor_no} {name}"),
            lambda count: self.reload() if count else None,
        )

    def _after_decision(self, decision_id) -> None:
        self.reload()
        if decision_id is not None:
            self.action_tab("decisions")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == f"table-{self.active_tab}":
            self._show_row()

    def _show_row(self) -> None:
        """The detail line: every cell of the row under the cursor, labelled, uncut."""
        line = self.query_one("#detail-row", Static)
        key = self.active_tab
        table = self._tables.get(key)
        if table is None or not table.row_count or table.cursor_row < 0:
            line.update("")
            return
        cells = table.get_row_at(table.cursor_row)
        parts = []
        for (label, _), cell in zip(COLUMNS[key], cells, strict=False):
            text = (cell.plain if isinstance(cell, Text) else str(cell)).strip()
            if text:
                parts.append(f"{label} {text}" if label else text)
        if key == "contacts":
            contact = self._contact(self._cursor_key(key))
            if contact is not None:
                parts.insert(2, f"担当 {self._staff(contact.staff)}")
                parts.append("Enter 全文" + ("" if contact.note else "（内容なし）"))
        line.update(Text(" │ ".join(parts)))

    def action_plan(self) -> None:
        self._open_form(forms.plan_form, self._selected_obligor())

    def action_cancel_entry(self) -> None:
        """Cancel the ledger entry or limitation event under the cursor (after confirmation)."""
        key = self.active_tab
        if key not in ("ledger", "events", "contacts"):
            self.notify(
                "明細（2）・交渉（4）・時効事由（5）のタブで取り消す行を選んでください",
                severity="warning",
            )
            return
        table = self._table(key)
        if not table.row_count:
            return
        row_key = int(table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value)
        if key == "ledger":
            self._open_form(forms.cancel_entry_form, row_key)
        elif key == "contacts":
            if self._cancelled(self._contact(row_key)):
                self.notify("この交渉記録は取消済みです", severity="warning")
                return
            self._open_form(forms.cancel_contact_form, row_key)
        else:
            self._open_form(forms.cancel_event_form, row_key)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_tab(self, key: str) -> None:
        table = self._table(key)
        self.query_one(ContentSwitcher).current = table.id
        self.query_one(TabBar).active = key
        table.focus()
        self._show_row()

    # ------------------------------------------------------------------ rendering

    def _d(self, value) -> str:
        return format_date(value, context(self).date_style())

    def show(self, view: ClaimView) -> None:
        self.view = view
        c = view.claim
        debtor = next((o.row.name for o in view.obligors if o.row.role == "principal_debtor"), "")
        status = CLAIM_STATUSES.get(c.status, c.status)
        self.query_one("#detail-title", Static).update(
            Text(f"求償権 {c.claim_no}  {debtor}  [{status}]")
        )
        b = view.balance
        principal = c.loan_principal + c.loan_interest
        line1 = (
            f"代弁日 {self._d(c.subrogation_date)} 求償元金 {format_yen(principal)} "
            f"率 {c.damages_rate}% 充当 {ALLOCATION_ORDERS.get(c.allocation_order, c.allocation_order)} 担当 {self._staff(view.staff_login) or '—'}"
        )
        line2 = (
            f"残高 {self._d(view.as_of)} 元金 {format_yen(b.principal, unit=False)} 損害金 {format_yen(b.damages, unit=False)} "
            f"費用 {format_yen(b.costs, unit=False)} 計 {format_yen(b.total)}"
        )
        extra = []
        if view.municipalities:
            extra.append("損失補償 " + "・".join(view.municipalities))
        if c.insurance_type or c.cover_ratio or c.insurance_paid is not None:
            extra.append(self._insurance(c))
        if c.status == "written_off" and c.written_off_amount is not None:
            extra.append(
                f"償却額 {format_yen(c.written_off_amount)}（{self._d(c.written_off_on)}）"
            )
        if c.status == "suspended" and c.review_on:
            extra.append(f"見直し {self._d(c.review_on)}")
        summary = Text(line1 + "\n" + line2 + ("\n" + "  ".join(extra) if extra else ""))
        self.query_one("#detail-summary", Static).update(summary)
        self._load_waiver(c.claim_no)
        for key in self._tables:  # the tabs not built yet are filled when first shown
            self._fill_table(key, view)
        if self._start_obligor is not None:
            table = self._tables[FIRST_TAB]
            try:
                table.move_cursor(row=table.get_row_index(str(self._start_obligor)), animate=False)
            except RowDoesNotExist:
                pass
            self._start_obligor = None
        self._show_row()

    def _insurance(self, c) -> str:
        """保険 普通保険 てん補率80% 保険金 8,000,000円（R6.7.10受領）, or 保険金 未受領."""
        parts = [f"保険 {c.insurance_type or '—'}"]
        if c.cover_ratio:
            parts.append(f"てん補率{c.cover_ratio}%")
        if c.insurance_paid is not None:
            received = f"（{self._d(c.insurance_paid_on)}受領）" if c.insurance_paid_on else ""
            parts.append(f"保険金 {format_yen(c.insurance_paid)}{received}")
        else:
            parts.append("保険金 未受領")
        return " ".join(parts)

    def _fill_table(self, key: str, view: ClaimView) -> None:
        """Replace the table's rows, keeping the cursor on the same record (or row) as before."""
        table = self._tables[key]
        old_key: str | None = None
        old_row = table.cursor_row
        if table.row_count:
            old_key = table.coordinate_to_cell_key((old_row, 0)).row_key.value
        table.clear()
        rows: Iterator[Row] = getattr(self, f"_rows_{key}")(view)
        for cells, row_key in rows:
            if key in COMPACT:
                cells = tuple(_compact(c) for c in cells)
            table.add_row(*cells, key=row_key)
        if not table.row_count or (old_key is None and old_row == 0):
            return
        try:
            row = table.get_row_index(old_key) if old_key is not None else old_row
        except RowDoesNotExist:  # that record is gone: stay on the same line
            row = old_row
        table.move_cursor(row=min(row, table.row_count - 1), animate=False)

    @staticmethod
    def _arrears(view: ClaimView, plan_id: int) -> Text:
        if plan_id not in view.plan_arrears:
            return Text("")
        amount, late = view.plan_arrears[plan_id]
        if not amount:
            return Text("なし")
        return Text(f"{format_yen(amount, unit=False)}{'!' if late else ''}", justify="right")

    @staticmethod
    def _names(view: ClaimView) -> dict[int, str]:
        return {o.row.id: o.row.name for o in view.obligors}

    def _rows_obligors(self, view: ClaimView) -> Iterator[Row]:
        for ov in view.obligors:
            o, clock = ov.row, ov.clock
            if clock is None:
                lim = ("—", "—", "—", "")
            else:
                basis = BASIS_LABELS.get(clock.basis, clock.basis)
                lim = (
                    self._d(clock.completes_on) or "なし",
                    self._d(clock.own_completes_on) or "なし",
                    LIMITATION_STATES.get(clock.state, clock.state),
                    f"{basis} {self._d(clock.basis_date)}",
                )
            notes = [] if o.state == "normal" else [OBLIGOR_STATES.get(o.state, o.state)]
            if not o.liable:
                notes.append("免除")
            name = o.name + (f"（{'・'.join(notes)}）" if notes else "")
            cells = (str(o.obligor_no), ROLE_SHORT.get(o.role, o.role), plain(name), *lim)
            yield cells, str(o.obligor_no)

    @staticmethod
    def _payer(view: ClaimView, obligor_id: int | None) -> Text:
        """The payer as 関係人番号 and name (the column cuts a long name)."""
        for ov in view.obligors:
            if ov.row.id == obligor_id:
                return plain(f"{ov.row.obligor_no} {ov.row.name}")
        return Text("")

    def _rows_ledger(self, view: ClaimView) -> Iterator[Row]:
        by_id = {e.id: e for e in view.entries}
        for row in view.ledger.rows:
            e = by_id.get(row.entry.seq)
            kind = ENTRY_KINDS.get(row.entry.kind, row.entry.kind)
            if e is not None and e.kind == "receipt":
                kind = (
                    "入金"
                    if e.method in (None, "transfer", "direct_debit")
                    else RECEIPT_METHODS[e.method][:4]
                )
            a = row.allocation
            mark = (
                "取消"
                if row.entry.cancelled
                else ("償却後" if e is not None and e.post_write_off else "")
            )
            cells = (
                self._d(row.entry.date),
                kind,
                yen(row.entry.amount),
                self._payer(view, e.payer_id) if e is not None else Text(""),
                yen(a.costs if a else None),
                yen(a.damages if a else None),
                yen(a.principal if a else None),
                yen(row.balance_after.principal),
                mark,
            )
            yield cells, str(row.entry.seq)

    def _rows_plans(self, view: ClaimView) -> Iterator[Row]:
        names = self._names(view)
        for p in view.plans:
            cells = (
                plain(names.get(p.obligor_id, "")),
                format_month(p.first_month, context(self).date_style()),
                format_month(p.last_month, context(self).date_style()) or "—",
                yen(p.monthly_amount),
                "末日" if p.due_day == 31 else f"{p.due_day}日",
                PLAN_STATUSES.get(p.status, p.status),
                self._arrears(view, p.id),
            )
            yield cells, str(p.id)

    @staticmethod
    def _cancelled(contact) -> bool:
        return bool(getattr(contact, "cancelled", False))

    def _rows_contacts(self, view: ClaimView) -> Iterator[Row]:
        for c in view.contacts:
            promise = (
                f"{format_yen(c.promised_amount, unit=False)} {self._d(c.promised_on)}"
                if c.promised_amount
                else ""
            )
            nxt = f"{c.next_action or ''} {self._d(c.next_on)}" if c.next_on else ""
            cells = (
                format_datetime(c.at, context(self).date_style()),
                self._payer(view, c.obligor_id),
                CONTACT_CHANNELS.get(c.channel, c.channel),
                plain(c.outcome),
                plain(promise),
                plain(nxt),
                "取消" if self._cancelled(c) else "",
            )
            yield cells, str(c.id)

    def _rows_events(self, view: ClaimView) -> Iterator[Row]:
        names = self._names(view)
        for ev in view.events:
            cells = (
                self._d(ev.date),
                plain(names.get(ev.obligor_id, "")),
                EVENT_KINDS.get(ev.kind, ev.kind),
                self._d(ev.until),
                "取消" if ev.cancelled else "",
                plain(self._staff(ev.created_by)),
            )
            yield cells, str(ev.id)

    def _rows_decisions(self, view: ClaimView) -> Iterator[Row]:
        for d in view.decisions:
            cells = (
                str(d.id),
                DECISION_KINDS.get(d.kind, d.kind),
                DECISION_STATUSES.get(d.status, d.status),
                plain(self._staff(d.proposer)),
                plain(self._staff(d.approver or "")),
                plain(d.reason),
            )
            yield cells, str(d.id)

    def _rows_history(self, view: ClaimView) -> Iterator[Row]:
        style = context(self).date_style()
        for h in view.history:
            after = json.loads(h.after) if h.after else {}
            before = json.loads(h.before) if h.before else {}
            label, detail = history_line(
                h.action,
                after if isinstance(after, dict) else {},
                style,
                before if isinstance(before, dict) else None,
            )
            try:
                at = format_datetime(datetime.fromisoformat(h.at), style)
            except ValueError:
                at = h.at[:16].replace("T", " ")
            cells = (at, plain(self._staff(h.login)), label, plain(detail))
            yield cells, str(h.seq)
