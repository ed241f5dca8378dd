"""The 年度報告 screen: F6 opens the current 年度, ← and → change the year (Pilot)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.widgets import Static

from kyusho.app import KyushoApp
from kyusho.rules.report_table import text_lines
from kyusho.services.reports import fy_report
from screens.report import ReportScreen
from tests.test_tui import SIZE, settle


def shown(app) -> str:
    return str(app.screen.query_one("#report-text", Static).content)


async def test_f6_shows_this_years_report_and_arrows_change_the_year(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        assert isinstance(app.screen, ReportScreen)
        assert app.screen.fy == 2026
        title = str(app.screen.query_one("#report-title", Static).content)
        assert "令和8年度" in title and "R8.11.22まで" in title  # display.dates: wareki
        assert shown(app) == "\n".join(text_lines(fy_report(demo_session, 2026), "wareki")[1:])
        await pilot.press("left")
        await settle(pilot)
        assert app.screen.fy == 2025
        assert shown(app) == "\n".join(text_lines(fy_report(demo_session, 2025), "wareki")[1:])
        assert "まで" not in str(app.screen.query_one("#report-title", Static).content)
        await pilot.press("right", "right")
        await settle(pilot)
        assert app.screen.fy == 2027  # next year's plan can be looked at; not beyond
        await pilot.press("right")
        await settle(pilot)
        assert app.screen.fy == 2027


@pytest.mark.parametrize(
    ("style", "april", "upto"),
    [("wareki", "R8.4 ", "R8.11.22まで"), ("iso", "2026-04 ", "2026-11-22まで")],
)
async def test_report_months_and_title_follow_display_dates(demo_session, style, april, upto):
    demo_session.config = replace(demo_session.config, dates=style)
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        assert upto in str(app.screen.query_one("#report-title", Static).content)
        bars = shown(app).split("月別回収（百万円）\n", 1)[1].splitlines()
        assert bars[0].startswith(april)
        other = "2026-04" if style == "wareki" else "R8.4"
        assert other not in shown(app)
        # the bars line up whatever the month label's width
        assert len({line.index("█") for line in bars if "█" in line}) == 1


async def test_staff_names_are_shown_as_text_not_markup(demo_session):
    from kyusho.rules.dates import fiscal_year
    from kyusho.services.staff import add_staff
    from models.schema import Claim, Staff

    add_staff(demo_session, "odd", "[bold]角括弧[/bold]", "staff")
    claim = Claim.select().where(Claim.last_receipt_on.is_null(False)).first()
    Claim.update(staff=Staff.get(Staff.login == "odd")).where(Claim.id == claim.id).execute()
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(ReportScreen(fiscal_year(claim.last_receipt_on)))
        await settle(pilot)
        assert "[bold]角括弧[/bold]" in shown(app)


async def test_a_change_by_someone_else_adds_up_the_report_once(demo_session, monkeypatch):
    import dataclasses
    import time

    from kyusho.services import reports
    from kyusho.services.staff import add_staff

    demo_session.config = dataclasses.replace(demo_session.config, refresh_seconds=0.2)
    calls: list[int] = []

    def counted(session, fy):
        calls.append(fy)
        return fy_report(session, fy)

    monkeypatch.setattr(reports, "fy_report", counted)
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        assert isinstance(app.screen, ReportScreen)
        assert calls == [2026]
        add_staff(demo_session, "other", "別の担当者", "staff")  # a write the watcher sees
        deadline = time.monotonic() + 5
        while len(calls) < 2 and time.monotonic() < deadline:
            await pilot.pause(0.1)
        await pilot.pause(1.0)  # several more polls: nothing else changed
        await settle(pilot)
        assert calls == [2026, 2026]
        assert shown(app) == "\n".join(text_lines(fy_report(demo_session, 2026), "wareki")[1:])


async def _type_path(pilot, path) -> None:
    from textual.widgets import Input

    pilot.app.screen.query_one("#export-path", Input).value = str(path)
    await pilot.press("enter")
    await settle(pilot)


def _message(app) -> str:
    return str(app.screen.query_one("#export-message", Static).content)


async def test_x_writes_the_register_to_the_typed_path_and_asks_before_replacing(
    demo_session, tmp_path
):
    import openpyxl
    from textual.widgets import ProgressBar

    from models.schema import Obligor

    dest = tmp_path / "台帳.xlsx"
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(ReportScreen(2025))
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        await _type_path(pilot, dest)
        assert dest.is_file()
        sheet = openpyxl.load_workbook(dest).active
        assert sheet.title == "債権台帳"
        assert sheet.max_row == Obligor.select().count() + 1  # one row per obligor, a header
        bar = app.screen.query_one("#export-progress", ProgressBar)
        assert bar.percentage == 1
        assert "書き出しました" in _message(app)
        # the same name again: refused, nothing written, until Enter is pressed once more
        dest.write_bytes(b"old")
        await _type_path(pilot, dest)
        assert dest.read_bytes() == b"old"
        assert "すでにあります" in _message(app) and "もう一度 Enter" in _message(app)
        await _type_path(pilot, dest)
        assert dest.read_bytes()[:2] == b"PK"  # an XLSX (zip) replaced it


async def test_n_writes_the_years_remittance_ledger_and_esc_closes_the_line(demo_session, tmp_path):
    dest = tmp_path / "納付.csv"
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(ReportScreen(2025))
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await _type_path(pilot, dest)
        text = dest.read_bytes()
        assert text.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
        assert "求償権番号" in text.decode("utf-8-sig").splitlines()[0]
        await _type_path(pilot, tmp_path / "x.txt")
        assert ".csv か .xlsx" in _message(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ReportScreen)
        assert not app.screen.query_one("#export-bar").display


async def test_l_shows_the_years_remittance_ledger_on_screen_and_esc_comes_back(demo_session):
    """The 公庫 ledger is one key from the report: by half year, per claim, totals."""
    from screens.remittance import RemittanceScreen

    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        report = app.screen
        assert isinstance(report, ReportScreen)
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, RemittanceScreen)
        assert app.screen.fy == report.fy
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is report
