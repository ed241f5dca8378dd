"""Contacts a collector can read and correct, and a worklist that says how each row leaves
(issue 13, points 1–3 and 8 on the worklist and claim screens)."""

from __future__ import annotations

from datetime import datetime

from textual.widgets import DataTable, Static

from kyusho.app import KyushoApp
from kyusho.services import contacts
from models.schema import Claim, Contact, Obligor
from screens.claim_detail import ClaimDetailScreen
from screens.contact_view import ContactViewScreen
from screens.form import FormScreen
from screens.home import HomeScreen
from tests.conftest import TODAY
from tests.test_tui import SIZE, _snap_app, settle
from tests.test_tui_entry import open_claim

WIDE = (120, 40)
NOTE = "本人は来月から就職予定。賞与で一括返済を検討すると話した。家族にも相談するとのこと。"


def _claim_with_guarantor() -> Claim:
    return (
        Claim.select()
        .join(Obligor)
        .where((Claim.status == "active") & (Obligor.role == "joint_guarantor"))
        .order_by(Claim.claim_no)
        .get()
    )


def _long_contact(session) -> Contact:
    """A contact with a guarantor, a long note, a promise and a next action."""
    claim = _claim_with_guarantor()
    guarantor = (
        Obligor.select()
        .where((Obligor.claim == claim) & (Obligor.role == "joint_guarantor"))
        .order_by(Obligor.obligor_no)
        .get()
    )
    return contacts.add_contact(
        session,
        claim.claim_no,
        guarantor.obligor_no,
        "phone",
        "本人と話せた",
        NOTE,
        at=datetime(2026, 11, 20, 10, 30),
        promised_amount=30_000,
        promised_on=TODAY.replace(day=30),
        next_action="再架電",
        next_on=TODAY.replace(day=30),
    )


def _row_of(home: HomeScreen, kind: str) -> int:
    return next(i for i, item in enumerate(home.items) if item.kind == kind)


async def test_the_worklist_detail_line_says_what_makes_the_row_under_the_cursor_leave(
    demo_session,
):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        table = home.query_one(DataTable)
        row = _row_of(home, "next_action")
        table.move_cursor(row=row)
        await settle(pilot)
        item = home.items[row]
        shown = str(home.query_one("#home-detail", Static).content)
        assert item.leaves and item.leaves in shown
        assert item.claim_no in shown and item.obligor in shown


async def test_d_marks_the_next_action_done_and_it_leaves_the_worklist(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        row = _row_of(home, "next_action")
        item = home.items[row]
        home.query_one(DataTable).move_cursor(row=row)
        await pilot.press("d")
        await settle(pilot)
        assert Contact.get_by_id(item.contact_id).next_done
        # the next action leaves (a promise made in the same contact is another row)
        assert item.contact_id not in {i.contact_id for i in home.items if i.kind == "next_action"}
        assert any("完了" in n.message for n in app._notifications)


async def test_d_on_another_kind_of_row_says_it_is_for_next_actions(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        assert home.items[0].kind == "limitation"
        before = len(home.items)
        await pilot.press("d")
        await settle(pilot)
        assert len(home.items) == before
        assert any("次回行動" in n.message for n in app._notifications)


async def test_a_contact_is_recorded_from_the_worklist_in_three_keys_before_the_note(
    demo_session,
):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        row = next(i for i, it in enumerate(home.items) if it.obligor_no not in (None, 1))
        item = home.items[row]
        home.query_one(DataTable).move_cursor(row=row)
        await pilot.press("k")  # 1: the form, the obligor of the row preselected
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        await pilot.press("2")  # 2: 面談
        await pilot.press("1")  # 3: 本人と話せた
        assert app.screen.focused is app.screen.query_one("#f-note")
        for ch in "来週再訪":
            await pilot.press(ch)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
    c = Contact.select().order_by(Contact.id.desc()).get()
    assert (c.claim.claim_no, c.obligor.obligor_no) == (item.claim_no, item.obligor_no)
    assert (c.channel, c.outcome, c.note) == ("meeting", "本人と話せた", "来週再訪")


async def test_the_contacts_tab_shows_the_obligor_and_enter_opens_the_contact_in_full(
    demo_session,
):
    contact = _long_contact(demo_session)
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_claim(pilot, contact.claim.claim_no)
        await pilot.press("4")
        await settle(pilot)
        table = screen.query_one("#table-contacts", DataTable)
        first = [str(c) for c in table.get_row_at(0)]
        assert first[1].startswith(f"{contact.obligor.obligor_no} ")
        # the detail line has the whole name, which the column cuts
        line = str(screen.query_one("#detail-row", Static).content)
        assert f"{contact.obligor.obligor_no} {contact.obligor.name}" in line
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactViewScreen)
        text = str(app.screen.query_one("#contact-text", Static).content)
        assert NOTE in text and "30,000円" in text and "再架電" in text
        await pilot.press("escape")
        assert app.screen is screen


async def test_x_on_the_contacts_tab_cancels_the_contact_with_a_reason_and_it_stays(
    demo_session,
):
    contact = _long_contact(demo_session)
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_claim(pilot, contact.claim.claim_no)
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        for ch in "別の求償権":
            await pilot.press(ch)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        table = screen.query_one("#table-contacts", DataTable)
        assert str(table.get_row_at(0)[-1]) == "取消"
        assert table.row_count == len(screen.view.contacts)
    stored = Contact.get_by_id(contact.id)
    assert stored.cancelled and stored.cancel_reason == "別の求償権"


async def test_k_on_the_contacts_tab_preselects_that_contacts_obligor(demo_session):
    contact = _long_contact(demo_session)
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, contact.claim.claim_no)
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("k")
        await settle(pilot)
        form = app.screen
        assert form.query_one("#f-obligor").value == contact.obligor.obligor_no
        assert form.focused is form.query_one("#f-channel")


async def test_at_120_columns_the_name_and_reason_columns_widen(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        widths = {
            str(c.key.value): c.width for c in app.screen.query_one(DataTable).columns.values()
        }
        assert widths["obligor"] > 18 and widths["reason"] > 26
        contact = _long_contact(demo_session)
        screen = await open_claim(pilot, contact.claim.claim_no)
        await pilot.press("4")
        await settle(pilot)
        table = screen.query_one("#table-contacts", DataTable)
        assert list(table.columns.values())[1].width > 10  # 関係人: 10 at 80 columns
        assert isinstance(screen, ClaimDetailScreen)


# ---------------------------------------------------------------------- snapshots


def test_snapshot_worklist_with_its_detail_line(demo_path, snap_compare):
    async def on_next_action(pilot):
        await settle(pilot)
        home = pilot.app.screen
        home.query_one(DataTable).move_cursor(row=_row_of(home, "next_action"))
        await settle(pilot)

    assert snap_compare(_snap_app(demo_path), terminal_size=SIZE, run_before=on_next_action)


def test_snapshot_worklist_at_120x40(demo_path, snap_compare):
    async def ready(pilot):
        await settle(pilot)

    assert snap_compare(_snap_app(demo_path), terminal_size=WIDE, run_before=ready)


def _snap_contact_app(demo_path):
    app = _snap_app(demo_path)
    _long_contact(app.session)
    return app


def test_snapshot_contacts_tab(demo_path, snap_compare):
    async def contacts_tab(pilot):
        await open_claim(pilot, _claim_with_guarantor().claim_no)
        await pilot.press("4")
        await settle(pilot)

    assert snap_compare(_snap_contact_app(demo_path), terminal_size=SIZE, run_before=contacts_tab)


def test_snapshot_contact_in_full(demo_path, snap_compare):
    async def contact_in_full(pilot):
        await open_claim(pilot, _claim_with_guarantor().claim_no)
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(
        _snap_contact_app(demo_path), terminal_size=SIZE, run_before=contact_in_full
    )
