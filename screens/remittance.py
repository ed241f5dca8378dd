"""公庫 回収金納付台帳: the remittance ledger of one fiscal year on screen (SPEC 4.13).

By half year (上期・下期) with each receipt, the adjustments booked in that half year, the
half year's total, then the total per claim and for the year. Read in a thread worker
(kyusho.services.remittance); shown as plain text (notes are not markup).
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from kyusho.rules.dates import fiscal_year, fiscal_year_label, format_date
from kyusho.rules.money import format_yen
from kyusho.rules.report_table import display_width
from kyusho.services import remittance
from kyusho.services.remittance import HALF_LABELS, RemittanceLedger
from screens.context import FiscalYearSteps, context, deliver, failure, watch_as_of
from screens.live import LiveRefreshMixin
from screens.widgets import KeyBar, StatusLine

# (header, width in cells, right-aligned)
COLUMNS = (
    ("求償権番号", 11, False),
    ("入金日", 10, False),
    ("入金額", 12, True),
    ("元金充当額", 12, True),
    ("納付額", 12, True),
    ("備考", 20, False),
)
HALF_CHOICES = (None, 1, 2)  # 全期, 上期, 下期


def _pad(text: str, width: int, right: bool) -> str:
    gap = max(0, width - display_width(text))
    return " " * gap + text if right else text + " " * gap


def _line(cells: list[str]) -> str:
    return " ".join(_pad(c, w, r) for c, (_, w, r) in zip(cells, COLUMNS, strict=True)).rstrip()


def ledger_lines(led: RemittanceLedger, style: str = "iso") -> list[str]:
    """The ledger as lines of text: one block per half year, then totals per claim."""
    lines: list[str] = []
    for half, total in led.halves:
        lines.append(f"■ {HALF_LABELS[half]}")
        lines.append(_line([h for h, _, _ in COLUMNS]))
        rows = [r for r in led.rows if r.half == half]
        for r in rows:
            note = ("［調整］" + r.note) if r.adjustment else r.note
            lines.append(
                _line(
                    [
                        r.claim_no,
                        format_date(r.date, style),
                        format_yen(r.amount, unit=False),
                        format_yen(r.allocated_principal, unit=False),
                        format_yen(r.remittance, unit=False),
                        note,
                    ]
                )
            )
        if not rows:
            lines.append("（納付対象の入金はありません）")
        lines.append(f"{HALF_LABELS[half]} 計 {len(rows)}件 {format_yen(total)}")
        lines.append("")
    by_claim = led.by_claim()
    if by_claim:
        lines.append("■ 求償権別")
        for claim_no, total in by_claim:
            lines.append(f"{_pad(claim_no, 11, False)} {_pad(format_yen(total), 16, True)}")
        lines.append("")
    lines.append(f"年度計 {format_yen(led.total)}")
    return lines


class RemittanceScreen(FiscalYearSteps, LiveRefreshMixin, Screen[None]):
    """公庫 回収金納付台帳"""

    BINDINGS = [
        Binding("left,comma", "year(-1)", "前年度", id="remittance.previous_year"),
        Binding("right,full_stop", "year(1)", "翌年度", id="remittance.next_year"),
        Binding("h", "half", "上期/下期", id="remittance.half"),
        Binding("r,f5", "reload", "再集計", id="remittance.reload"),
        Binding("escape", "back", "戻る", id="remittance.back"),
    ]

    def __init__(self, fiscal_year: int | None = None) -> None:
        super().__init__()
        self.fy = fiscal_year
        self.half: int | None = None
        self.ledger: RemittanceLedger | None = None

    def compose(self) -> ComposeResult:
        yield Static("公庫 回収金納付台帳", classes="title", id="remittance-title")
        with VerticalScroll(id="remittance-body"):
            yield Static("", id="remittance-text", markup=False)
        yield StatusLine()
        yield KeyBar()

    def on_mount(self) -> None:
        if self.fy is None:
            self.fy = fiscal_year(context(self).as_of)
        self.query_one("#remittance-body").focus()
        self.reload()
        self.start_live_refresh()
        watch_as_of(self, lambda _: self.reload())

    def _title(self, suffix: str = "") -> str:
        assert self.fy is not None
        half = f" {HALF_LABELS[self.half]}" if self.half else ""
        return f"公庫 回収金納付台帳 — {fiscal_year_label(self.fy)}（FY{self.fy}）{half}{suffix}"

    def reload(self) -> None:
        assert self.fy is not None
        self.query_one("#remittance-title", Static).update(self._title(" 集計中…"))
        self.query_one("#remittance-body").loading = True
        self._read(self.fy, self.half)

    @work(thread=True, exclusive=True, group="remittance", exit_on_error=False)
    def _read(self, fy: int, half: int | None) -> None:
        try:
            led = remittance.ledger(context(self).session, fy, half)
        except Exception as exc:  # shown, never raised into the UI
            deliver(self, self._failed, failure("納付台帳を集計できませんでした", exc))
            return
        deliver(self, self.show, led, half)

    def _failed(self, message: str) -> None:
        self.query_one("#remittance-body").loading = False
        self.notify(message, severity="error")

    def show(self, led: RemittanceLedger, half: int | None = None) -> None:
        if led.fiscal_year != self.fy or half != self.half:  # another view was asked for
            return
        self.ledger = led
        self.query_one("#remittance-title", Static).update(self._title())
        text = "\n".join(ledger_lines(led, context(self).date_style()))
        self.query_one("#remittance-text", Static).update(text)
        self.query_one("#remittance-body").loading = False

    def action_half(self) -> None:
        self.half = HALF_CHOICES[(HALF_CHOICES.index(self.half) + 1) % len(HALF_CHOICES)]
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

    def on_data_changed(self) -> None:
        self.reload()
