"""The claim list: search as you type, filters and sort, at 200,000 claims.

Rows come from a VirtualTable that fetches only the blocks on screen, in thread workers; the
search runs as prefix range scans on indexed keys (kyusho.services.claims).
"""

from __future__ import annotations

from dataclasses import replace

from rich.markup import escape
from textual import events, work
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
from kyusho.services.session import Session
from kyusho.services.staff import list_staff
from kyusho.vocab import CLAIM_STATUSES
from screens.context import context, deliver
from screens.live import LiveRefreshMixin
from screens.virtual_table import Column, VirtualTable
from screens.widgets import KeyBar, StatusLine

# ClaimSource's cells, in this order; a column picks its cell by position (Column.cell)
CELL_CLAIM_NO, CELL_DEBTOR, CELL_STATUS, CELL_SUBROGATION, CELL_PRINCIPAL, CELL_STAFF = range(6)
CELL_MATCHED = 6

COLUMNS = [
    Column("claim_no", "求償権番号", 11),
    Column("debtor", "主債務者", 21),  # 78 cells: no horizontal scrollbar at 80
    Column("status", "状態", 12),
    Column("subrogation", "代弁日", 9),
    Column("principal", "元金残高", 12, align="right"),
    Column("staff", "担当", 8),
]

WIDE = 120  # from this many cells the name columns widen and the matched obligor gets a column
NAME_MAX_WIDTH = 48  # a name column wider than this only adds blank space


def columns_for(width: int, searching: bool) -> list[Column]:
    """The columns for a table ``width`` cells wide: at 80 the fixed set (the detail line shows
    what is cut); from WIDE on, the spare cells go to the names, and to the obligor a search
    matched while searching."""
    if width < WIDE:
        return COLUMNS
    fixed = [
        Column("claim_no", "求償権番号", 11, cell=CELL_CLAIM_NO),
        Column("status", "状態", 12, cell=CELL_STATUS),
        Column("subrogation", "代弁日", 9, cell=CELL_SUBROGATION),
        Column("principal", "元金残高", 14, align="right", cell=CELL_PRINCIPAL),
        Column("staff", "担当", 14, cell=CELL_STAFF),
    ]
    names = 3 if searching else 2  # debtor and matched share the rest; the staff keeps 14
    spare = width - 1 - sum(c.width for c in fixed) - len(fixed) - (names - 1)  # 1: scrollbar
    debtor_w = min(NAME_MAX_WIDTH, spare * 2 // names if searching else spare)
    cols = [fixed[0], Column("debtor", "主債務者", debtor_w, cell=CELL_DEBTOR)]
    if searching:
        matched_w = min(NAME_MAX_WIDTH, spare - debtor_w - 1)
        cols.append(Column("matched", "一致した債務者", matched_w, cell=CELL_MATCHED))
    return cols + fixed[1:]


class ClaimSource:
    """The claim list's rows for one query (count and fetch run in the table's workers)."""

    def __init__(
        self,
        query: ClaimQuery,
        date_style: str,
        staff_names: dict[str, str] | None = None,
        session: Session | None = None,
    ) -> None:
        self.query = query
        self.date_style = date_style
        # login → display name: staff are shown by name. Not known yet: read by the first
        # fetch (in its worker) from ``session``, so that the names arriving do not make the
        # list read its count and rows again
        self.staff_names = staff_names
        self.session = session
        self.total: int | None = None

    def count(self) -> int:
        self.total = count_claims(self.query)
        return self.total

    def fetch(self, offset: int, limit: int) -> list[tuple[str, tuple[str, ...]]]:
        if self.staff_names is None:
            try:
                staff = list_staff(self.session) if self.session else []
            except Exception:  # names are a nicety: logins are shown instead
                staff = []
            self.staff_names = {s.login: s.name for s in staff}
        rows = search_claims(self.query, offset, limit, total=self.total)
        return [(r.claim_no, self._cells(r)) for r in rows]

    def _cells(self, r: ClaimRow) -> tuple[str, ...]:
        return (
            r.claim_no,
            r.debtor_name,
            CLAIM_STATUSES.get(r.status, r.status),
            format_date(r.subrogation_date, self.date_style),
            format_yen(r.principal_outstanding, unit=False),
            (self.staff_names or {}).get(r.staff or "", r.staff or ""),
            r.matched_label,
        )


def detail_text(cells: tuple[str, ...] | None) -> str:
    """The full row under the cursor in two lines (markup-escaped): nothing is cut at 80."""
    if not cells:
        return ""
    c = [escape(v) for v in cells] + [""] * (CELL_MATCHED + 1 - len(cells))
    first = f"{c[CELL_CLAIM_NO]}  {c[CELL_DEBTOR]}"
    if c[CELL_STAFF]:
        first += f"  担当 {c[CELL_STAFF]}"
    bits = [f"一致 {c[CELL_MATCHED]}"] if c[CELL_MATCHED] else []
    bits += [c[CELL_STATUS], f"代弁日 {c[CELL_SUBROGATION]}", f"元金残高 {c[CELL_PRINCIPAL]}円"]
    return first + "\n" + "  ".join(bits)


class ClaimListScreen(LiveRefreshMixin, Screen[None]):
    """求償権一覧"""

    DEFAULT_CSS = """
    #claim-row-detail {
        height: auto;
        max-height: 3;
        padding: 0 1;
        background: $boost;
    }
    """

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
        self._staff_names: dict[str, str] | None = None  # read by the filters' worker
        self._count: int | None = None

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
        yield Static("", id="claim-row-detail")
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
        if names:
            self._staff_names = names  # for the next searches' sources
        self.query_one("#staff", Select).set_options([((names or {}).get(s, s), s) for s in staff])
        self.query_one("#municipality", Select).set_options([(m, m) for m in munis])

    def _apply(self) -> None:
        table = self.query_one(VirtualTable)
        self._count = None
        self._layout()
        table.set_source(
            ClaimSource(
                self.query_state,
                context(self).date_style(),
                self._staff_names,
                context(self).session,
            )
        )
        self._update_title()
        self._show_detail()

    def _layout(self) -> None:
        table = self.query_one(VirtualTable)
        width = table.size.width or self.app.size.width
        columns = columns_for(width, bool(self.query_state.text.strip()))
        if list(table.columns) != columns:
            table.set_columns(columns)

    def on_resize(self, event: events.Resize) -> None:
        self._layout()

    def _update_title(self) -> None:
        q = self.query_state
        bits = []
        if q.text:
            # the count says how many claims the search found (one per claim, not per obligor)
            found = "…" if self._count is None else f"{self._count:,}件"
            bits.append(f"検索「{escape(q.text)}」 {found}")
        elif self._count is not None:
            bits.append(f"{self._count:,}件")
        bits.append(f"並び: {SORTS[q.sort]}")
        self.query_one("#claims-title", Static).update("求償権一覧 — " + "  ".join(bits))

    def on_virtual_table_count_changed(self, event: VirtualTable.CountChanged) -> None:
        self._count = event.count
        self._update_title()
        self._show_detail()

    def on_virtual_table_cursor_moved(self, event: VirtualTable.CursorMoved) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        table = self.query_one(VirtualTable)
        row = table.get_row(table.cursor_index)
        self.query_one("#claim-row-detail", Static).update(detail_text(row[1] if row else None))

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
