"""Japanese, 和暦 and names everywhere; what matters most fits at 80x24 (issue 13, points 7–8)."""

from __future__ import annotations

from kyusho.app import KyushoApp
from kyusho.services import entries
from models.schema import Claim, Staff
from screens.claim_list import ClaimListScreen
from screens.widgets import KeyBar
from tests.conftest import TODAY
from tests.test_tui import SIZE, settle
from tests.test_tui_entry import open_claim


def first_active_claim() -> Claim:
    return Claim.select().where(Claim.status == "active").order_by(Claim.claim_no).get()


async def test_the_key_bar_shows_help_first_on_every_screen_at_80(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, first_active_claim().claim_no)
        shown = str(app.screen.query_one(KeyBar).render())
        assert shown.lstrip().startswith("f1 ヘルプ")
        assert shown.index("入金") < shown.index("ホーム")  # the claim's own keys before F2…


async def test_the_history_tab_reads_as_japanese_with_dates_and_names(demo_session):
    claim = first_active_claim()
    entries.post_receipt(demo_session, claim.claim_no, TODAY, 100_000, 1, "transfer")
    name = Staff.get(Staff.login == demo_session.login).name
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, claim.claim_no)
        await pilot.press("7")
        await settle(pilot)
        table = app.screen.query_one("#table-history")
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        row = next(r for r in rows if r[2] == "入金を記録")
        assert row[3].startswith("100,000円")
        assert row[0].startswith("R8.11.22 ")  # display.dates, not ISO
        assert row[1] == name  # the display name, not the login
        assert not any("=" in r[3] or "." in r[2] for r in rows)


async def test_contact_times_are_shown_in_the_configured_date_style(demo_session):
    from models.schema import Contact

    contact = Contact.select().join(Claim).order_by(Contact.id).get()
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, contact.claim.claim_no)
        await pilot.press("4")
        await settle(pilot)
        table = app.screen.query_one("#table-contacts")
        first = str(table.get_row_at(0)[0])
        assert first[0] in "RH" and "-" not in first


async def test_the_command_palette_commands_are_japanese(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "テーマ" in titles and "終了" in titles
        assert not any(t.isascii() for t in titles)


async def test_the_claim_list_filters_take_one_line(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, ClaimListScreen)
        assert app.screen.query_one("#filters").region.height == 1
