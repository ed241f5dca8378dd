"""Keyboard flows that write: receipts with the live preview, costs, cancellation, plans,
the as-of date, limitation events and contacts (SPEC 5.1, issues 3 and 4)."""

from __future__ import annotations

from datetime import date
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from kyusho.app import KyushoApp
from kyusho.rules.ledger import compute
from kyusho.services import entries, events, projections
from kyusho.services.claims import claim_view
from models.schema import Claim, Contact, LedgerEntry, LimitationEvent, Obligor, Plan
from screens.claim_detail import ClaimDetailScreen
from screens.form import FormScreen
from screens.home import HomeScreen
from tests.conftest import TODAY
from tests.test_tui import SIZE, settle


async def type_text(pilot: Pilot[Any], text: str) -> None:
    for ch in text:
        await pilot.press(ch)


async def open_claim(pilot: Pilot[Any], claim_no: str) -> ClaimDetailScreen:
    await settle(pilot)
    pilot.app.open_claim(claim_no)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ClaimDetailScreen)
    return screen


async def fill(pilot: Pilot[Any], field: str, text: str) -> None:
    widget = pilot.app.screen.query_one(f"#f-{field}", Input)
    widget.focus()
    widget.value = ""
    await type_text(pilot, text)


def active_claim_with_debtor_receipts() -> Claim:
    return (
        Claim.select()
        .where((Claim.status == "active") & Claim.id.in_(LedgerEntry.select(LedgerEntry.claim)))
        .order_by(Claim.claim_no)
        .get()
    )


def stored_matches_recomputation(claim: Claim) -> bool:
    rows = projections.entries_of(claim.id)
    result = compute(
        projections.terms_of(claim), [projections.as_engine_entry(r) for r in rows], TODAY
    )
    return all(
        (r.alloc_costs, r.alloc_damages, r.alloc_principal)
        == ((a.costs, a.damages, a.principal) if (a := result.allocations.get(r.id)) else (0, 0, 0))
        for r in rows
    )


async def test_post_a_receipt_with_live_preview(demo_session):
    claim = Claim.select().where(Claim.status == "active").order_by(Claim.claim_no).get()
    before = LedgerEntry.select().where(LedgerEntry.claim == claim.id).count()
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, claim.claim_no)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        await fill(pilot, "amount", "１２，３４５")  # full-width digits and comma
        await pilot.pause(0.3)
        await settle(pilot)
        preview = str(app.screen.query_one("#form-preview", Static).content)
        assert "充当" in preview and "上限" in preview
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)
        await pilot.press("2")  # the ledger tab
        await settle(pilot)
        ledger = app.screen.query_one("#table-ledger", DataTable)
        assert any("12,345" in str(ledger.get_row_at(i)[2]) for i in range(ledger.row_count))
    entries = LedgerEntry.select().where(LedgerEntry.claim == claim.id)
    assert entries.count() == before + 1
    new = entries.order_by(LedgerEntry.id.desc()).get()
    assert (new.amount, new.date, new.kind) == (12345, TODAY, "receipt")
    assert stored_matches_recomputation(Claim.get_by_id(claim.id))


async def test_a_bad_amount_is_refused_naming_the_field_and_nothing_is_stored(demo_session):
    claim = Claim.select().where(Claim.status == "active").order_by(Claim.claim_no).get()
    count = LedgerEntry.select().count()
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, claim.claim_no)
        await pilot.press("n")
        await settle(pilot)
        await fill(pilot, "amount", "12.5")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        error = str(app.screen.query_one("#form-error", Static).content)
        assert error.startswith("金額")
        # more than the balance: refused by the service with the maximum stated
        total = projections.balance_from_projection(claim, TODAY).total
        await fill(pilot, "amount", str(total + 1))
        await pilot.press("ctrl+s")
        await settle(pilot)
        error = str(app.screen.query_one("#form-error", Static).content)
        assert "保存していません" in error and f"{total:,}円" in error
        await pilot.press("escape", "escape")  # typed values: the first Esc asks
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)
    assert LedgerEntry.select().count() == count


async def test_enter_a_cost(demo_session):
    claim = Claim.select().where(Claim.status == "active").order_by(Claim.claim_no).get()
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, claim.claim_no)
        await pilot.press("c")
        await settle(pilot)
        await fill(pilot, "amount", "38000")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)
    cost = (
        LedgerEntry.select()
        .where((LedgerEntry.claim == claim.id) & (LedgerEntry.kind == "cost"))
        .get()
    )
    assert (cost.amount, cost.cost_kind) == (38000, "訴訟費用")
    assert Claim.get_by_id(claim.id).costs_outstanding == 38000


async def test_cancel_a_receipt_after_confirmation_with_a_reason(demo_session):
    claim = active_claim_with_debtor_receipts()
    first = (
        LedgerEntry.select()
        .where(LedgerEntry.claim == claim.id)
        .order_by(LedgerEntry.date, LedgerEntry.id)
        .get()
    )
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, claim.claim_no)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        assert "取消の確認" in str(app.screen.query_one("#form-title", Static).content)
        # no reason: refused, nothing changes
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        assert LedgerEntry.get_by_id(first.id).cancelled is False
        await fill(pilot, "reason", "誤入力")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)
        ledger = app.screen.query_one("#table-ledger", DataTable)
        assert str(ledger.get_row_at(0)[-1]).strip() == "取消"
    cancelled = LedgerEntry.get_by_id(first.id)
    assert cancelled.cancelled and cancelled.cancel_reason == "誤入力"
    assert stored_matches_recomputation(Claim.get_by_id(claim.id))


async def test_view_the_claim_as_of_a_past_date(demo_session):
    claim = active_claim_with_debtor_receipts()
    first = (
        LedgerEntry.select().where(LedgerEntry.claim == claim.id).order_by(LedgerEntry.date).get()
    )
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_claim(pilot, claim.claim_no)
        await pilot.press("f4")
        await settle(pilot)
        await fill(pilot, "as_of", first.date.isoformat())
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.session.view_as_of == first.date
        assert screen.view.as_of == first.date
        expected = compute(
            projections.terms_of(claim),
            [
                projections.as_engine_entry(r)
                for r in projections.entries_of(claim.id)
                if r.date <= first.date
            ],
            first.date,
        ).balance
        assert screen.view.balance == expected
        assert "時点" in str(screen.query_one("StatusLine", Static).content)
        # back to today with an empty date
        await pilot.press("f4")
        await settle(pilot)
        await fill(pilot, "as_of", "")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.session.view_as_of is None
        assert screen.view.as_of == TODAY


async def test_enter_a_plan_and_see_its_arrears(demo_session):
    claim = (
        Claim.select()
        .where((Claim.status == "active") & ~Claim.id.in_(Plan.select(Plan.claim)))
        .order_by(Claim.claim_no)
        .get()
    )
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, claim.claim_no)
        await pilot.press("p")
        await settle(pilot)
        await fill(pilot, "first_month", "R8.8.1")
        await fill(pilot, "monthly_amount", "30,000")
        await fill(pilot, "due_day", "25")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)
        await pilot.press("3")
        await settle(pilot)
        plans = app.screen.query_one("#table-plans", DataTable)
        row = plans.get_row_at(0)
        # due 8/25, 9/25, 10/25 have passed by 11/22 and nothing was paid by the debtor since August
        paid = sum(
            e.amount
            for e in LedgerEntry.select().where(
                (LedgerEntry.claim == claim.id)
                & (LedgerEntry.date >= date(2026, 8, 1))
                & (LedgerEntry.kind == "receipt")
            )
        )
        assert paid == 0
        assert str(row[-1]) == "90,000!"
    plan = Plan.get(Plan.claim == claim.id)
    assert (plan.first_month, plan.monthly_amount, plan.due_day) == (date(2026, 8, 1), 30000, 25)


async def test_a_demand_on_a_guarantor_near_completion_takes_the_alert_off_the_list(demo_session):
    # a guarantor whose own clock is the one that completes soon (not the principal debtor's)
    candidates = (
        Obligor.select()
        .join(Claim)
        .where(
            (Obligor.role == "joint_guarantor")
            & (Obligor.lim_state == "running")
            & (Obligor.lim_via_principal == False)  # noqa: E712
            & (Obligor.completes_on >= TODAY)
            & (Obligor.completes_on <= date(2027, 5, 1))
            & (Claim.status == "active")
        )
        .order_by(Obligor.completes_on)
    )

    def principal_later(o: Obligor) -> bool:
        debtor = Obligor.get((Obligor.claim == o.claim_id) & (Obligor.obligor_no == 1))
        return debtor.completes_on is None or debtor.completes_on > date(2027, 6, 1)

    # list(): a half-read cursor would hold this connection's read snapshot open
    guarantor = next((o for o in list(candidates) if principal_later(o)), None)
    assert guarantor is not None, "the demo has a guarantor whose own clock completes soon"
    claim_no = guarantor.claim.claim_no
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)

        def alerted() -> bool:
            return any(
                i.kind == "limitation"
                and i.claim_no == claim_no
                and i.obligor_no == guarantor.obligor_no
                for i in home.items
            )

        assert alerted()
        await open_claim(pilot, claim_no)
        table = app.screen.query_one("#table-obligors", DataTable)
        table.move_cursor(
            row=[str(table.get_row_at(i)[0]) for i in range(table.row_count)].index(
                str(guarantor.obligor_no)
            )
        )
        await pilot.press("e")  # event form, the selected obligor preset, 催告 by default
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)
        await pilot.press("escape")
        await settle(pilot)
        home.reload()
        await settle(pilot)
        assert not alerted()  # 催告 today: completion not before 2027-05-22, outside 180 days
    ev = LimitationEvent.get(
        (LimitationEvent.obligor == guarantor.id)
        & (LimitationEvent.kind == "demand")
        & (LimitationEvent.date == TODAY)
    )
    assert ev.created_by == app.session.login
    assert Obligor.get_by_id(guarantor.id).completes_on == date(2027, 5, 22)


async def test_record_a_contact_from_the_worklist(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        home = app.screen
        item = home.items[0]
        count = Contact.select().count()
        await pilot.press("k")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        await fill(pilot, "outcome", "本人と話せた")
        await fill(pilot, "next_action", "再架電")
        await fill(pilot, "next_on", "R8.12.1")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
    assert Contact.select().count() == count + 1
    c = Contact.select().order_by(Contact.id.desc()).get()
    assert c.claim.claim_no == item.claim_no
    assert (c.outcome, c.next_action, c.next_on, c.channel) == (
        "本人と話せた",
        "再架電",
        date(2026, 12, 1),
        "phone",
    )
    if item.obligor_no is not None:
        assert c.obligor.obligor_no == item.obligor_no


# --------------------------------------------------------------------------- issue 10


def column(table: DataTable, label: str) -> int:
    return [str(c.label).strip() for c in table.columns.values()].index(label)


async def test_the_ledger_shows_the_principal_balance_after_each_entry_and_the_payer(
    demo_session,
):
    claim = active_claim_with_debtor_receipts()
    guarantor = Obligor.get_or_none(
        (Obligor.claim == claim.id) & (Obligor.role == "joint_guarantor")
    )
    payer = guarantor or Obligor.get((Obligor.claim == claim.id) & (Obligor.obligor_no == 1))
    entries.post_receipt(demo_session, claim.claim_no, TODAY, 1_000, payer.obligor_no)
    view = claim_view(demo_session, claim.claim_no)
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, claim.claim_no)
        await pilot.press("2")
        await settle(pilot)
        table = app.screen.query_one("#table-ledger", DataTable)
        balance, paid_by = column(table, "元金残高"), column(table, "入金者")
        assert table.virtual_size.width <= SIZE[0] - 2  # every column on screen, scrollbar too
        rows = view.ledger.rows
        assert table.row_count == len(rows)
        for i, row in enumerate(rows):
            cells = table.get_row_at(i)
            # the principal left after the entry, not the total with damages
            assert str(cells[balance]).strip() == f"{row.balance_after.principal:,}"
        last = table.get_row_at(table.row_count - 1)
        assert str(last[paid_by]).strip() == f"{payer.obligor_no} {payer.name}"
        assert view.balance.total != view.balance.principal  # the two really differ here


async def test_the_receipt_preview_speaks_of_the_receipts_own_date(demo_session):
    claim = active_claim_with_debtor_receipts()
    on = date(2026, 10, 1)
    expected = entries.preview_receipt(demo_session, claim.claim_no, on, 10_000)
    today = entries.preview_receipt(demo_session, claim.claim_no, TODAY, 10_000)
    assert expected.maximum != today.maximum  # damages ran on since then
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, claim.claim_no)
        await pilot.press("n")
        await settle(pilot)
        await fill(pilot, "date", "2026-10-01")
        await fill(pilot, "amount", "10000")
        await pilot.pause(0.3)
        await settle(pilot)
        preview = str(app.screen.query_one("#form-preview", Static).content)
    lines = preview.splitlines()
    assert lines[0] == f"R8.10.1 時点  入金できる上限 {expected.maximum:,}円"
    assert lines[1].startswith("  入金前:")
    assert lines[1].endswith(f"計 {expected.balance_before.total:,}円")
    assert lines[3].startswith("  入金後:")
    assert lines[3].endswith(f"計 {expected.balance_after.total:,}円")
    assert f"{today.maximum:,}円" not in preview


async def test_a_refused_saves_message_goes_once_a_field_changes(demo_session):
    claim = Claim.select().where(Claim.status == "active").order_by(Claim.claim_no).get()
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, claim.claim_no)
        await pilot.press("n")
        await settle(pilot)
        await fill(pilot, "amount", "12.5")
        await pilot.press("ctrl+s")
        await settle(pilot)
        error = app.screen.query_one("#form-error", Static)
        assert str(error.content).startswith("金額")
        await pilot.press("ctrl+s")  # the same values again: still refused, still said
        await settle(pilot)
        assert str(error.content).startswith("金額")
        await pilot.press("backspace")
        await settle(pilot)
        assert str(error.content) == ""


async def test_e_on_a_collateral_provider_says_why_instead_of_opening_a_form(demo_session):
    provider = (
        Obligor.select()
        .join(Claim)
        .where((Obligor.role == "collateral_provider") & (Claim.status == "active"))
        .order_by(Obligor.id)
        .first()
    )
    assert provider is not None, "the demo has a collateral provider"
    count = LimitationEvent.select().count()
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, provider.claim.claim_no)
        table = app.screen.query_one("#table-obligors", DataTable)
        rows = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        table.move_cursor(row=rows.index(str(provider.obligor_no)))
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)  # no form, and no crash
        messages = [str(n.message) for n in app._notifications]
        assert any("物上保証人" in m for m in messages), messages
        # the other obligors still get the form
        table.move_cursor(row=0)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
    assert LimitationEvent.select().count() == count


async def test_an_event_that_changes_nothing_is_saved_on_the_second_ctrl_s(demo_session):
    claim = Claim.select().where(Claim.status == "active").order_by(Claim.claim_no).get()
    events.add_event(
        demo_session, claim.claim_no, 1, "demand", date(2026, 10, 1), confirm_no_effect=True
    )
    count = LimitationEvent.select().count()
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, claim.claim_no)
        await pilot.press("e")  # obligor 1, 催告, today: inside the demand's six months
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        warning = str(app.screen.query_one("#form-error", Static).content)
        assert "時効に影響しません" in warning and "もう一度 Ctrl+S" in warning
        assert LimitationEvent.select().count() == count
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)
    assert LimitationEvent.select().count() == count + 1
    last = LimitationEvent.select().order_by(LimitationEvent.id.desc()).get()
    assert (last.kind, last.date, last.obligor.obligor_no) == ("demand", TODAY, 1)
