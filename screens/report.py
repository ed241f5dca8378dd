"""年度報告: the 年度 report on screen (SPEC 4.14), one fiscal year at a time.

The figures are added up in a thread worker (kyusho.services.reports); the screen shows the
business-plan table first, then receipts by month as bars, recovery by staff and the year's
limitation completions, all as plain text (no markup: staff and obligor names are user text).

x (書出し) and n (公庫納付台帳) open a line at the bottom for the path: Enter writes it in a
thread worker with a progress bar; an existing file is refused until Enter is pressed again
on the same path (the second key is the confirmation), and Esc closes the line.
"""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, ProgressBar, Select, Static

from kyusho.errors import InputError
from kyusho.files import output_path, show_text, write_atomically
from kyusho.rules.dates import fiscal_year, fiscal_year_label, format_date
from kyusho.rules.report_table import Report, report_csv, text_lines
from kyusho.services import exports, reports
from screens.context import FiscalYearSteps, context, deliver, failure, watch_as_of
from screens.live import LiveRefreshMixin
from screens.widgets import KeyBar, StatusLine

# what the export line can write: the exports of SPEC 4.16, this 年度 report, the ledger
EXPORT_CHOICES = [
    ("債権台帳", "register"),
    ("求償権一覧", "claims"),
    ("入金・費用", "ledger"),
    ("年度報告", "report"),
    ("公庫納付台帳", "remittance"),
]
FIELD = "出力先"


def _format_of(path: Path) -> str:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in exports.FORMATS:
        raise InputError(FIELD, "拡張子が .csv か .xlsx のファイル名を入力してください")
    return fmt


class ReportScreen(FiscalYearSteps, LiveRefreshMixin, Screen[None]):
    """年度報告"""

    BINDINGS = [
        Binding("left,comma", "year(-1)", "前年度", id="report.previous_year"),
        Binding("right,full_stop", "year(1)", "翌年度", id="report.next_year"),
        Binding("r,f5", "reload", "再集計", id="report.reload"),
        Binding("x", "export('register')", "書出し", id="report.export"),
        Binding("l", "remittance_ledger", "公庫納付台帳", id="report.remittance_ledger"),
        Binding("n", "export('remittance')", "納付台帳を書出し", id="report.remittance"),
        Binding("escape", "back", "戻る", id="report.back"),
    ]

    def __init__(self, fy: int | None = None) -> None:
        super().__init__()
        self.fy = fy
        self.report: Report | None = None
        self._confirm: str | None = None  # the existing file a second Enter will replace
        self._busy = False

    def compose(self) -> ComposeResult:
        yield Static("年度報告", classes="title", id="report-title")
        with VerticalScroll(id="report-body"):
            yield Static("", id="report-text", markup=False)
        with Vertical(id="export-bar"):
            with Horizontal():
                yield Select(EXPORT_CHOICES, id="export-kind", allow_blank=False, compact=True)
                yield Input(placeholder="出力先（.csv / .xlsx）", id="export-path")
            yield Static("", id="export-message", markup=False)
            yield ProgressBar(id="export-progress", show_eta=False)
        yield StatusLine()
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#export-bar").display = False
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

    def action_remittance_ledger(self) -> None:
        """l: the 公庫 remittance ledger of the year shown, on screen (by half year and claim)."""
        from screens.remittance import RemittanceScreen

        self.app.push_screen(RemittanceScreen(self.fy))

    def action_reload(self) -> None:
        self.reload()

    async def action_back(self) -> None:
        """Back to where the user came from; the report is a mode of its own, so: home."""
        bar = self.query_one("#export-bar")
        if bar.display:  # Esc first closes the export line
            bar.display = False
            self.query_one("#report-body").focus()
            return
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            await self.app.run_action("go('home')")

    def action_export(self, kind: str) -> None:
        bar = self.query_one("#export-bar")
        bar.display = True
        self.query_one("#export-kind", Select).value = kind
        self._confirm = None
        self._message("出力先のファイル名を入力して Enter（Esc で閉じる）")
        self.query_one("#export-path", Input).focus()

    def _message(self, text: str) -> None:
        self.query_one("#export-message", Static).update(text)

    @on(Input.Submitted, "#export-path")
    def _submitted(self, event: Input.Submitted) -> None:
        if self._busy:
            self.notify("書き出し中です")
            return
        kind = self.query_one("#export-kind", Select).value
        text = event.value.strip()
        session = context(self).session
        force = self._confirm is not None and self._confirm == text
        try:
            dest = output_path(text, FIELD, force=force, protect=session.protected_files())
            fmt = _format_of(dest)
            if kind == "report" and self.report is None:
                raise InputError("年度報告", "集計が終わってから書き出してください")
        except InputError as exc:
            exists = Path(text).expanduser().is_file() and "すでにあります" in str(exc)
            self._confirm = text if exists else None
            if exists:
                self._message(
                    f"{show_text(text)} はすでにあります。上書きするにはもう一度 Enter、"
                    "やめるには別の名前を入力してください"
                )
            else:
                self._message(str(exc))
            return
        self._confirm = None
        self._busy = True
        bar = self.query_one("#export-progress", ProgressBar)
        bar.update(total=None, progress=0)
        self._message(f"{show_text(dest)} に書き出しています…")
        self._write(str(kind), fmt, dest, self.fy, self.report)

    @work(thread=True, group="export", exit_on_error=False)
    def _write(
        self, kind: str, fmt: str, dest: Path, fy: int | None, report: Report | None
    ) -> None:
        session = context(self).session
        style = session.config.dates

        def progress(_stage: str, done: int, total: int) -> None:
            self.app.call_from_thread(self._progress, done, total)

        try:
            if kind == "report":
                assert report is not None
                if fmt == "csv":
                    write_atomically(dest, report_csv(report).encode("utf-8-sig"), field=FIELD)
                    rows = len(report.items)
                else:
                    rows = exports.write_report_xlsx(report, dest, field=FIELD, date_style=style)
            elif kind == "remittance":
                assert fy is not None
                rows = exports.write_remittance(session, fy, None, fmt, dest, field=FIELD)
            else:
                rows = exports.export(
                    session,
                    kind,
                    fmt,
                    dest,
                    field=FIELD,
                    on=session.view_date(),
                    progress=progress,
                )
        except Exception as exc:  # shown on the line, never raised into the UI
            self.app.call_from_thread(self._done, failure("書き出せませんでした", exc), False)
            return
        self.app.call_from_thread(
            self._done, f"{show_text(dest)} に {rows:,} 行を書き出しました", True
        )

    def _progress(self, done: int, total: int) -> None:
        self.query_one("#export-progress", ProgressBar).update(total=total, progress=done)
        self._message(f"書き出し中… {done:,}/{total:,} 行")

    def _done(self, message: str, ok: bool) -> None:
        self._busy = False
        bar = self.query_one("#export-progress", ProgressBar)
        if ok:
            bar.update(total=1, progress=1)
        self._message(message)
        self.notify(message, severity="information" if ok else "error")

    def on_data_changed(self) -> None:
        self.reload()
