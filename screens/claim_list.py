"""The claim list: search as you type, filters and sort, at 200,000 claims.

Rows come from a VirtualTable that fetches only the blocks on screen, in thread workers; the
search runs as prefix range scans on indexed keys (kyusho.services.claims).
"""

from __future__ import annotations

from dataclasses import replace

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Input, Select, Static

from kyusho.rules.dates import format_date
from kyusho.rules.money import format_yen
from kyusho.services.claims import (
    SORTS,
    ClaimQuery,
    ClaimRow,
    count_claims,
    filter_choices,
    search_claims,
)
from kyusho.services.staff import list_staff
from kyusho.vocab import CLAIM_STATUSES
from screens.context import context, deliver
from screens.live import LiveRefreshMixin
from screens.virtual_table import Column, VirtualTable
from screens.widgets import KeyBar, StatusLine

COLUMNS = [
    Column("claim_no", "求償権番号", 11),
    Column("debtor", "主債務者", 22),
    Column("status", "状態", 12),
    Column("subrogation", "代弁日", 9),
    Column("principal", "元金残高", 12, align="right"),
    Column("staff", "担当", 8),
]


class ClaimSource:
    """The claim list's rows for one query (count and fetch run in the table's workers)."""

    def __init__(
        self, query: ClaimQuery, date_style: str, staff_names: dict[str, str] | None = None
    ) -> None:
        self.query = query
        self.date_style = date_style
        self.staff_names = staff_names or {}  # login → display name: staff are shown by name
        self.total: int | None = None

    def count(self) -> int:
        self.total = count_claims(self.query)
        return self.total

    def fetch(self, offset: int, limit: int) -> list[tuple[str, tuple[str, ...]]]:
        rows = search_claims(self.query, offset, limit, total=self.total)
        return [(r.claim_no, self._cells(r)) for r in rows]

    def _cells(self, r: ClaimRow) -> tuple[str, ...]:
        return (
            r.claim_no,
            r.debtor_name,
            CLAIM_STATUSES.get(r.status, r.status),
            format_date(r.subrogation_date, self.date_style),
            format_yen(r.principal_outstanding, unit=False),
            self.staff_names.get(r.staff or "", r.staff or ""),
        )


class ClaimListScreen(LiveRefreshMixin, Screen[None]):
    """求償権一覧"""

    BINDINGS = [
        Binding("slash,ctrl+f", "focus_search", "検索", id="claims.search"),
        Binding("escape", "focus_table", "一覧へ", show=False, id="claims.focus_table"),
        Binding("s", "cycle_sort", "並び替え", id="claims.sort"),
        Binding("r,f5", "reload", "再読込", id="claims.reload"),
    ]
    # while a search is still running, keystrokes are coalesced and the latest text is
    # searched as soon as it finishes (checked this often); an idle list searches at once
    COALESCE_POLL_SECONDS = 0.01

    def __init__(self) -> None:
        super().__init__()
        self.query_state = ClaimQuery()
        self._pending_text: str | None = None
        self._coalesce_timer = None
        self._staff_names: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static("求償権一覧", classes="title", id="claims-title")
        with Horizontal(id="filters"):
            # compact: one line each, so the table keeps the rows (SPEC 5.1, 80x24)
            yield Input(placeholder="/ 番号・氏名・カナ", id="search", compact=True)
            yield Select(
                [(v, k) for k, v in CLAIM_STATUSES.items()],
                prompt="状態",
                id="status",
                compact=True,
            )
            yield Select([], prompt="担当", id="staff", compact=True)
            yield Select([], prompt="損失補償", id="municipality", compact=True)
        yield VirtualTable(COLUMNS, id="claims-table")
        yield StatusLine()
        yield KeyBar()

    def on_mount(self) -> None:
        self._apply()
        self.query_one(VirtualTable).focus()
        self._load_filters()
        self.start_live_refresh()

    @work(thread=True, exclusive=True, group="filters", exit_on_error=False)
    def _load_filters(self) -> None:
        """The filter choices; if they cannot be read the selects stay empty (not an error)."""
        staff, munis = filter_choices()
        try:
            names = {s.login: s.name for s in list_staff(context(self).session)}
        except Exception:  # names are a nicety: logins are shown instead
            names = {}
        deliver(self, self._show_filters, staff, munis, names)

    def _show_filters(
        self, staff: list[str], munis: list[str], names: dict[str, str] | None = None
    ) -> None:
        if names and names != self._staff_names:
            self._staff_names = names
            self._apply()
        self.query_one("#staff", Select).set_options(
            [(self._staff_names.get(s, s), s) for s in staff]
        )
        self.query_one("#municipality", Select).set_options([(m, m) for m in munis])

    def _apply(self) -> None:
        table = self.query_one(VirtualTable)
        table.set_source(
            ClaimSource(self.query_state, context(self).date_style(), self._staff_names)
        )
        self._update_title()

    def _update_title(self) -> None:
        q = self.query_state
        bits = [f"並び: {SORTS[q.sort]}"]
        if q.text:
            bits.append(f"検索「{q.text}」")
        self.query_one("#claims-title", Static).update("求償権一覧 — " + " ".join(bits))

    def on_virtual_table_count_changed(self, event) -> None:  # pragma: no cover - optional message
        pass

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "search":
            return
        self._pending_text = event.value
        self._search_pending()

    def _search_pending(self) -> None:
        """Search the latest typed text now, or as soon as the running search finishes."""
        if self._pending_text is None:
            self._stop_poll()
            return
        if self.query_one(VirtualTable).is_busy:
            if self._coalesce_timer is None:
                self._coalesce_timer = self.set_interval(
                    self.COALESCE_POLL_SECONDS, self._search_pending
                )
            return
        text, self._pending_text = self._pending_text, None
        self._stop_poll()
        self._search(text)

    def _stop_poll(self) -> None:
        if self._coalesce_timer is not None:
            self._coalesce_timer.stop()
            self._coalesce_timer = None

    def _search(self, text: str) -> None:
        if text == self.query_state.text:
            return
        self.query_state = replace(self.query_state, text=text)
        self._apply()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._pending_text = None
        self._stop_poll()
        self._search(event.value)
        self.query_one(VirtualTable).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        value = None if event.value is Select.NULL else str(event.value)
        field = {"status": "status", "staff": "staff", "municipality": "municipality"}.get(
            event.select.id or ""
        )
        if field is None:
            return
        self.query_state = replace(self.query_state, **{field: value})
        self._apply()

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        context(self).open_claim(str(event.row_key))

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_focus_table(self) -> None:
        self.query_one(VirtualTable).focus()

    def action_cycle_sort(self) -> None:
        keys = list(SORTS)
        nxt = keys[(keys.index(self.query_state.sort) + 1) % len(keys)]
        self.query_state = replace(self.query_state, sort=nxt)
        self._apply()

    def action_reload(self) -> None:
        self.query_one(VirtualTable).refresh_data(keep_cursor=True)

    def on_data_changed(self) -> None:
        self.query_one(VirtualTable).refresh_data(keep_cursor=True)
