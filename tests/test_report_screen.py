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
