"""Opening a claim: the claim is read first and then shown; each tab shows its rows the first
time it is chosen; a later open wins; a missing claim is a message, not a crash; live refresh
keeps every tab that is on screen current (SPEC 5.1, 6.1, 6.3)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from peewee import fn
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from kyusho.app import KyushoApp
from kyusho.rules.money import format_yen
from kyusho.services import decisions, projections
from kyusho.services.claims import ClaimView, claim_view
from kyusho.services.contacts import add_contact
from kyusho.services.session import Session
from models.schema import Claim, Contact, LedgerEntry, LimitationEvent, Plan
from screens.claim_detail import TABS, ClaimDetailScreen
from screens.claim_list import ClaimListScreen
from screens.home import HomeScreen
from screens.virtual_table import VirtualTable
from screens.widgets import TabBar
from tests.conftest import TODAY
from tests.test_tui import SIZE, settle


def claim_with_every_kind_of_row(session: Session) -> str:
    """An active claim with receipts, a plan, contacts and limitation events, and a decision
    proposed on it, so that every tab has rows."""
    claim = (
        Claim.select()
        .where(
            (Claim.status == "active")
            & Claim.id.in_(LedgerEntry.select(LedgerEntry.claim))
            & Claim.id.in_(Plan.select(Plan.claim))
            & Claim.id.in_(Contact.select(Contact.claim))
            & Claim.id.in_(LimitationEvent.select(LimitationEvent.claim))
        )
        .order_by(Claim.claim_no)
        .get()
    )
    decisions.propose(
        session,
        claim.claim_no,
        "suspension",
        reason="所在不明",
        data={"reasons": ["whereabouts_unknown"]},
    )
    return claim.claim_no


def expected_rows(view: ClaimView) -> dict[str, int]:
    return {
        "obligors": len(view.obligors),
        "ledger": len(view.ledger.rows),
        "plans": len(view.plans),
        "contacts": len(view.contacts),
        "events": len(view.events),
        "decisions": len(view.decisions),
        "history": len(view.history),
    }


def detail(pilot: Pilot[Any]) -> ClaimDetailScreen:
    screen = pilot.app.screen
    assert isinstance(screen, ClaimDetailScreen)
    return screen


async def opened(pilot: Pilot[Any], claim_no: str) -> ClaimDetailScreen:
    """Open ``claim_no`` as Enter on a list row would, and return the detail screen shown."""
    pilot.app.open_claim(claim_no)
    await settle(pilot)
    return detail(pilot)


async def wait_until(pilot: Pilot[Any], condition: Callable[[], bool], seconds: float = 8) -> None:
    """Let the app run (its live-refresh timer polls) until ``condition`` holds or time is up."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        await pilot.pause(0.1)
    await settle(pilot)


async def test_enter_on_a_claim_in_the_list_opens_it_with_its_balance(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, ClaimListScreen)
        table = app.screen.query_one(VirtualTable)
        claim_no = table.cursor_row_key
        await pilot.press("enter")
        await settle(pilot)
        screen = detail(pilot)
        assert screen.claim_no == claim_no
        claim = Claim.get(Claim.claim_no == claim_no)
        total = projections.balance_from_projection(claim, TODAY).total
        summary = str(screen.query_one("#detail-summary", Static).content)
        assert f"計 {format_yen(total)}" in summary
        assert claim_no in str(screen.query_one("#detail-title", Static).content)
        # the first tab shows every obligor, and has the keyboard
        obligors = screen.query_one("#table-obligors", DataTable)
        assert obligors.row_count == len(claim.obligors)
        assert app.focused is obligors
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ClaimListScreen)


async def test_each_number_key_shows_its_tab_with_all_its_rows(demo_session):
    claim_no = claim_with_every_kind_of_row(demo_session)
    expected = expected_rows(claim_view(demo_session, claim_no, TODAY))
    assert all(expected.values())
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await opened(pilot, claim_no)
        tabs = screen.query_one(TabBar)
        for number, (key, _label) in reversed(list(enumerate(TABS, start=1))):
            await pilot.press(str(number))
            await settle(pilot)
            table = screen.query_one(f"#table-{key}", DataTable)
            assert tabs.active == key
            assert [t.id for t in screen.query(DataTable) if t.display] == [f"table-{key}"]
            assert app.focused is table
            assert table.row_count == expected[key], key
            assert len(table.columns) > 1
        # the rows are the claim's: the newest contact first, the proposed decision
        view = screen.view
        assert view is not None
        contacts = screen.query_one("#table-contacts", DataTable)
        assert str(contacts.get_row_at(0)[3]) == view.contacts[0].outcome
        decision = screen.query_one("#table-decisions", DataTable).get_row_at(0)
        assert str(decision[5]) == "所在不明"


async def test_a_tab_chosen_with_the_mouse_shows_its_rows(demo_session):
    claim_no = claim_with_every_kind_of_row(demo_session)
    expected = expected_rows(claim_view(demo_session, claim_no, TODAY))
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await opened(pilot, claim_no)
        # " 1 関係人 " takes ten cells; " 2 明細 " follows
        await pilot.click("#detail-tabbar", offset=(12, 0))
        await settle(pilot)
        assert screen.query_one(TabBar).active == "ledger"
        assert screen.query_one("#table-ledger", DataTable).display
        assert screen.query_one("#table-ledger", DataTable).row_count == expected["ledger"]


async def test_a_second_open_supersedes_the_first(demo_session):
    first, second = [
        c.claim_no for c in Claim.select().order_by(Claim.claim_no).limit(2)
    ]  # list(): no half-read cursor
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_claim(first)
        app.open_claim(second)  # a second Enter before the first claim is on screen
        await settle(pilot)
        opened = [s for s in app.screen_stack if isinstance(s, ClaimDetailScreen)]
        assert [s.claim_no for s in opened] == [second]
        assert app.screen is opened[0]
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)


async def test_the_next_claim_opened_starts_afresh_in_the_kept_screen(demo_session):
    """The detail screen is built once and kept; the next claim shown in it starts as a new
    screen would: its own title, balance and rows only, the first tab, the cursor at the top,
    and a read still running for the claim before is never shown over it."""
    first = claim_with_every_kind_of_row(demo_session)
    second = (
        Claim.select(Claim.claim_no)
        .where(Claim.claim_no != first)
        .order_by(Claim.claim_no.desc())
        .scalar()
    )
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await opened(pilot, first)
        await pilot.press("2")  # the ledger tab, the cursor moved down it
        await pilot.press("down", "down")
        await settle(pilot)
        assert screen.query_one("#table-ledger", DataTable).cursor_row == 2
        stale = screen.view
        await pilot.press("escape")
        await settle(pilot)
        assert await opened(pilot, second) is screen  # the same screen, shown again
        want = claim_view(demo_session, second, TODAY)
        assert screen.claim_no == second and screen.view is not None
        assert screen.view.claim.claim_no == second
        assert second in str(screen.query_one("#detail-title", Static).content)
        total = format_yen(want.balance.total)
        assert f"計 {total}" in str(screen.query_one("#detail-summary", Static).content)
        assert screen.query_one(TabBar).active == "obligors"
        obligors = screen.query_one("#table-obligors", DataTable)
        assert app.focused is obligors and obligors.cursor_row == 0
        assert obligors.row_count == len(want.obligors)
        ledger = screen.query_one("#table-ledger", DataTable)
        assert ledger.row_count == len(want.ledger.rows)  # the second claim's rows only
        # a read made for the first claim, arriving late, is not shown
        assert stale is not None
        screen._reloaded(screen._opened - 1, stale)
        await settle(pilot)
        assert screen.view.claim.claim_no == second
        assert second in str(screen.query_one("#detail-title", Static).content)


async def test_a_missing_claim_is_a_message_and_the_app_keeps_running(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        app.open_claim("Z9-999999")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        messages = [(n.message, n.severity) for n in app._notifications]
        assert any("Z9-999999" in m and "見つかりません" in m and s == "error" for m, s in messages)
        # and the next open works
        claim_no = Claim.select().order_by(Claim.claim_no).get().claim_no
        app.open_claim(claim_no)
        await settle(pilot)
        assert detail(pilot).claim_no == claim_no


async def test_live_refresh_updates_a_tab_built_later_and_keeps_its_cursor(demo_session):
    demo_session.config = dataclasses.replace(demo_session.config, refresh_seconds=1)
    row = (
        Contact.select(Contact.claim)
        .group_by(Contact.claim)
        .having(fn.COUNT(Contact.id) >= 2)
        .order_by(Contact.claim)
        .first()
    )
    claim = Claim.get_by_id(row.claim_id)
    claim_no = claim.claim_no
    newest = Contact.select().where(Contact.claim == claim.id).order_by(Contact.at.desc()).get()
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_claim(claim_no)
        await settle(pilot)
        await pilot.press("4")  # the contacts tab
        await settle(pilot)
        table = detail(pilot).query_one("#table-contacts", DataTable)
        count = table.row_count
        assert count >= 2
        await pilot.press("down")
        watched = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        assert table.cursor_row == 1

        # another user records a contact, newer than every other: it goes on top
        add_contact(
            demo_session,
            claim_no,
            None,
            "phone",
            "別の担当者の架電",
            at=max(newest.at, datetime(2026, 11, 22, 9, 0)) + timedelta(minutes=1),
        )
        await wait_until(pilot, lambda: table.row_count != count)
        assert table.row_count == count + 1, "the open tab never showed the other user's contact"
        assert str(table.get_row_at(0)[3]) == "別の担当者の架電"
        # the cursor stayed on the contact the user was looking at
        assert table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value == watched
        assert table.cursor_row == 2
        assert app.focused is table


def test_the_view_carries_the_staff_choices_for_the_edit_form_as_a_field(demo_session):
    """The edit form offers the active staff; a copy of the view (a reload, an as-of change)
    keeps them, because they are part of the view rather than an attribute added later."""
    from models.schema import Staff

    no = Claim.select().order_by(Claim.claim_no).get().claim_no
    view = claim_view(demo_session, no)
    active = [s.login for s in Staff.select().where(Staff.active == True).order_by(Staff.login)]  # noqa: E712
    assert view.staff_choices == active and active
    assert dataclasses.replace(view, as_of=TODAY - timedelta(days=1)).staff_choices == active
