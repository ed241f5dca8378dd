"""Navigation that never traps (issue 13 point 5): F2, F3, F6 and Esc do what the key bar says
from every screen; Home/End on every list; a guarantor's alert opens on that guarantor."""

from __future__ import annotations

from kyusho.app import KyushoApp
from screens.claim_detail import ClaimDetailScreen
from screens.claim_list import ClaimListScreen
from screens.home import HomeScreen
from screens.report import ReportScreen
from screens.widgets import ListTable
from tests.test_tui import SIZE, settle


async def test_f2_from_a_claim_opened_on_the_worklist_goes_home(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)


async def test_f3_shows_the_list_not_the_last_claim_opened_from_it(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, ClaimListScreen)


async def test_esc_on_the_report_goes_home(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        assert isinstance(app.screen, ReportScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)


async def test_home_and_end_go_to_the_first_and_last_row_of_the_worklist(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ListTable)
        assert table.row_count > 2
        await pilot.press("end")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("home")
        assert table.cursor_row == 0


async def test_a_guarantors_alert_opens_with_the_cursor_on_that_guarantor(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        row = next(
            i
            for i, item in enumerate(home.items)
            if item.kind == "limitation" and item.obligor_no and item.obligor_no > 1
        )
        table = home.query_one(ListTable)
        table.move_cursor(row=row)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)
        obligors = app.screen.query_one("#table-obligors", ListTable)
        key = obligors.coordinate_to_cell_key((obligors.cursor_row, 0)).row_key.value
        assert int(key) == home.items[row].obligor_no
