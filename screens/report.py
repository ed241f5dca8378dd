"""年度報告: the 年度 report on screen (SPEC 4.14), one fiscal year at a time.

The figures are added up in a thread worker (kyusho.services.reports); the screen shows the
business-plan table first, then receipts by month as bars, recovery by staff and the year's
limitation completions, all as plain text (no markup: staff and obligor names are user text).
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from kyusho.rules.dates import fiscal_year, fiscal_year_label, format_date
from kyusho.rules.report_table import Report, text_lines
from kyusho.services import reports
from screens.context import context, deliver, failure, watch_as_of
from screens.live import LiveRefreshMixin
from screens.widgets import KeyBar, StatusLine


class ReportScreen(LiveRefreshMixin, Screen[None]):
    """年度報告"""

    BINDINGS = [
        Binding("left,comma", "year(-1)", "前年度", id="report.previous_year"),
        Binding("right,full_stop", "year(1)", "翌年度", id="report.next_year"),
        Binding("r,f5", "reload", "再集計", id="report.reload"),
        Binding("escape", "back", "戻る", id="report.back"),
    ]

    def __init__(self, fy: int | None = None) -> None:
        super().__init__()
        self.fy = fy
        self.report: Report | None = None

    def compose(self) -> ComposeResult:
        yield Static("年度報告", classes="title", id="report-title")
        with VerticalScroll(id="report-body"):
            yield Static("", id="report-text", markup=False)
        yield StatusLine()
        yield KeyBar()

    def on_mount(self) -> None:
        if self.fy is None:
            self.fy = fiscal_year(context(self).as_of)
        self.query_one("#report-body").focus()
        self.reload()
        self.start_live_refresh()
        watch_as_of(self, lambda _: self.reload())  # the title says up to which day

    def reload(self) -> None:
        fy = self.fy
        assert fy is not None
        self.query_one("#report-title", Static).update(
            f"年度報告 — {fiscal_year_label(fy)}（FY{fy}） 集計中…"
        )
        self.query_one("#report-body").loading = True
        self._count(fy)

    @work(thread=True, exclusive=True, group="report", exit_on_error=False)
    def _count(self, fy: int) -> None:
        try:
            report = reports.fy_report(context(self).session, fy)
        except Exception as exc:  # shown, never raised into the UI
            deliver(self, self._failed, failure("年度報告を集計できませんでした", exc))
            return
        deliver(self, self.show, report)

    def _failed(self, message: str) -> None:
        self.query_one("#report-body").loading = False
        self.notify(message, severity="error")

    def show(self, report: Report) -> None:
        if report.fy != self.fy:  # a later year was asked for meanwhile
            return
        self.report = report
        today = context(self).as_of
        style = context(self).date_style()
        upto = "" if report.end < today else f"（{format_date(today, style)}まで）"
        self.query_one("#report-title", Static).update(
            f"年度報告 — {fiscal_year_label(report.fy)}（FY{report.fy}）{upto}"
        )
        lines = text_lines(report, style)
        self.query_one("#report-text", Static).update("\n".join(lines[1:]))
        self.query_one("#report-body").loading = False

    def action_year(self, step: int) -> None:
        assert self.fy is not None
        nxt = self.fy + step
        if not 1950 <= nxt <= fiscal_year(context(self).as_of) + 1:
            self.notify("これより先の年度はありません")
            return
        self.fy = nxt
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    async def action_back(self) -> None:
        """Back to where the user came from; the report is a mode of its own, so: home."""
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            await self.app.run_action("go('home')")

    def on_data_changed(self) -> None:
        self.reload()
