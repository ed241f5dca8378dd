"""The whole UI as of a past date (SPEC 5.1, 5.2; issue 10 point 4).

Contacts, plans, promises and decisions are cut at the as-of date like ledger entries and
limitation events: what was recorded later is not shown, and a decision decided later shows as
it stood then. Writes while a past date is viewed are refused with the reason.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from conftest import make_session
from textual.widgets import DataTable

from kyusho.app import KyushoApp
from kyusho.errors import PermissionDenied
from kyusho.services import decisions
from kyusho.services.claims import claim_json, claim_view
from kyusho.services.contacts import add_contact
from kyusho.services.entries import post_receipt
from kyusho.services.imports import import_bytes
from kyusho.services.plans import add_plan
from kyusho.services.session import Session
from kyusho.services.staff import add_staff
from kyusho.services.worklist import worklist
from models.schema import AuditEvent, LedgerEntry
from screens.claim_detail import ClaimDetailScreen
from tests.test_tui import SIZE, settle

NO = "R5-000001"
PAST = date(2026, 11, 1)  # the as-of date viewed
BEFORE = date(2026, 10, 15)  # a day before it, when earlier rows were recorded


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.fixture
def s(session: Session, db_path) -> Session:
    """One active claim (principal debtor 1, guarantor 2) and a manager to decide on it."""
    add_staff(session, "kacho", "課長", "manager")
    import_bytes(
        session,
        "claims",
        _csv(
            [
                [
                    "求償権番号",
                    "代位弁済日",
                    "代位弁済元金",
                    "代位弁済利息",
                    "委託契約日",
                    "金融機関",
                    "担当者",
                ],  # fmt: skip
                [NO, "2025-06-01", "1000000", "0", "2025-05-01", "テスト銀行", "kadmin"],
            ]
        ),
    )
    import_bytes(
        session,
        "obligors",
        _csv(
            [
                ["求償権番号", "関係人番号", "区分", "氏名", "カナ", "法人個人", "商人", "住所"],
                [NO, "1", "主債務者", "株式会社テスト", "テスト", "法人", "", "東京都"],
                [NO, "2", "連帯保証人", "山田 太郎", "ヤマダ タロウ", "個人", "0", "東京都"],
            ]
        ),
    )
    return session


def on_day(session: Session, day: date) -> Session:
    """The same user's session with its clock pinned to ``day`` (rows recorded that day)."""
    other = make_session(session.location, session.login)
    other.pin(day)
    return other


def test_contacts_recorded_after_the_as_of_date_are_not_shown(s):
    add_contact(s, NO, 1, "phone", "在宅", at=datetime(2026, 10, 30, 10))
    add_contact(s, NO, 1, "phone", "入金を約束", at=datetime(2026, 11, 18, 10))
    outcomes = [c.outcome for c in claim_view(s, NO, PAST).contacts]
    assert outcomes == ["在宅"]
    data = claim_json(claim_view(s, NO, PAST, history=False))
    assert [c["outcome"] for c in data["contacts"]] == ["在宅"]
    # today both are shown, the latest first
    assert [c.outcome for c in claim_view(s, NO).contacts] == ["入金を約束", "在宅"]


def test_a_plan_entered_later_is_not_shown_and_the_one_it_replaced_was_active(s):
    old = add_plan(on_day(s, BEFORE), NO, 1, date(2026, 6, 1), 10_000, 25)
    new = add_plan(s, NO, 1, date(2026, 12, 1), 5_000, 25)
    view = claim_view(s, NO, PAST)
    assert [(p.id, p.status) for p in view.plans] == [(old.id, "active")]
    assert view.plan_arrears[old.id][0] == 50_000  # June..October due, nothing received
    data = claim_json(view)
    assert [(p["monthly_amount"], p["status"]) for p in data["plans"]] == [(10_000, "active")]
    today = claim_view(s, NO)
    assert [(p.id, p.status) for p in today.plans] == [(old.id, "superseded"), (new.id, "active")]


def test_a_decision_shows_as_it_stood_on_the_as_of_date(s):
    manager = make_session(s.location, "kacho")
    early = decisions.propose(
        on_day(s, BEFORE),
        NO,
        "suspension",
        reason="所在不明",
        data={"reasons": ["whereabouts_unknown"]},
    )
    decisions.approve(
        manager, early.id, override_reason="所在調査済"
    )  # today, after the as-of date
    view = claim_view(s, NO, PAST)
    assert [(d.id, d.status, d.approver) for d in view.decisions] == [(early.id, "proposed", None)]
    assert [d["status"] for d in claim_json(view)["decisions"]] == ["proposed"]
    # proposed after the as-of date: not there at all
    decisions.propose(s, NO, "reactivation", reason="新住所判明")
    assert [d.id for d in claim_view(s, NO, PAST).decisions] == [early.id]
    assert [d.status for d in claim_view(s, NO).decisions] == ["approved", "proposed"]


def test_history_stops_at_the_as_of_date(s):
    add_contact(on_day(s, BEFORE), NO, 1, "phone", "在宅", at=datetime(2026, 10, 15, 10))
    add_contact(s, NO, 1, "phone", "不在", at=datetime(2026, 11, 18, 10))
    past = claim_view(s, NO, PAST).history
    assert past and all(h.at[:10] <= PAST.isoformat() for h in past)
    assert len(claim_view(s, NO).history) == len(past) + 1


def test_the_worklist_as_of_a_past_date_leaves_out_what_was_recorded_later(s):
    add_plan(s, NO, 1, date(2026, 6, 1), 10_000, 25)  # entered today, months in arrears
    decisions.propose(s, NO, "damages_waiver", reason="生活困窮", data={"amount": 1_000})
    manager = make_session(s.location, "kacho")
    kinds_today = {i.kind for i in worklist(manager, all_staff=True)}
    assert {"plan_arrears", "approval"} <= kinds_today
    manager.view_as_of = PAST  # the default as-of date is the one being viewed
    kinds_then = {i.kind for i in worklist(manager, all_staff=True)}
    assert not {"plan_arrears", "approval"} & kinds_then


def test_a_receipt_while_a_past_date_is_viewed_is_refused_and_nothing_stored(s):
    s.view_as_of = PAST
    count, events = LedgerEntry.select().count(), AuditEvent.select().count()
    with pytest.raises(PermissionDenied) as info:
        post_receipt(s, NO, PAST, 10_000, 1)
    assert "時点の表示中" in str(info.value) and "今日に戻して" in str(info.value)
    assert (LedgerEntry.select().count(), AuditEvent.select().count()) == (count, events)


async def test_the_detail_as_of_a_past_date_hides_later_contacts_and_refuses_a_receipt(s):
    add_contact(s, NO, 1, "phone", "在宅", at=datetime(2026, 10, 30, 10))
    add_contact(s, NO, 1, "phone", "入金を約束", at=datetime(2026, 11, 18, 10))
    count = LedgerEntry.select().count()
    s.view_as_of = PAST
    app = KyushoApp(s)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_claim(NO)
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)
        await pilot.press("4")  # the contacts tab
        await settle(pilot)
        table = app.screen.query_one("#table-contacts", DataTable)
        assert [str(table.get_row_at(i)[3]) for i in range(table.row_count)] == ["在宅"]
        await pilot.press("n")
        await settle(pilot)
        # no form to fill in for nothing: the refusal says why at once
        assert isinstance(app.screen, ClaimDetailScreen)
        messages = [str(n.message) for n in app._notifications]
        assert any("時点の表示中" in m for m in messages), messages
    assert LedgerEntry.select().count() == count


def test_a_next_action_closed_after_the_as_of_date_was_still_due_then(s):
    add_contact(
        s,
        NO,
        1,
        "phone",
        "不在",
        at=datetime(2026, 10, 20, 10),
        next_action="再架電",
        next_on=date(2026, 10, 28),
    )
    add_contact(
        s,
        NO,
        1,
        "phone",
        "在宅",
        at=datetime(2026, 11, 10, 10),
        next_action="督促状送付",
        next_on=date(2026, 11, 30),
    )

    def due(session: Session) -> list[str]:
        return [i.reason for i in worklist(session, all_staff=True) if i.kind == "next_action"]

    assert due(s) == []  # today: the first was closed by the second, which is not due yet
    s.view_as_of = PAST
    assert due(s) == ["次回行動: 再架電"]


def test_a_plan_replaced_after_the_as_of_date_was_in_arrears_then(s):
    add_plan(on_day(s, BEFORE), NO, 1, date(2026, 6, 1), 10_000, 25)
    add_plan(s, NO, 1, date(2026, 12, 1), 5_000, 25)  # today: a new plan from December

    def arrears(session: Session) -> list[str]:
        return [i.reason for i in worklist(session, all_staff=True) if i.kind == "plan_arrears"]

    assert arrears(s) == []
    s.view_as_of = PAST
    assert arrears(s) == ["分割弁済の延滞 50,000円"]


def test_a_contact_cancelled_after_the_as_of_date_shows_as_it_stood(s):
    """claim show --json as of a past date: a contact cancelled later was not cancelled then."""
    from kyusho.services.contacts import cancel_contact

    c = add_contact(s, NO, 1, "phone", "不在", at=datetime(2026, 10, 5, 10))
    cancel_contact(s, c.id, "別の求償権に記録した")  # today (the pinned day)
    now = [x for x in claim_json(claim_view(s, NO))["contacts"] if x["outcome"] == "不在"]
    assert now[0]["cancelled"] and now[0]["cancel_reason"] == "別の求償権に記録した"
    then = [
        x
        for x in claim_json(claim_view(s, NO, date(2026, 10, 31)))["contacts"]
        if x["outcome"] == "不在"
    ]
    assert not then[0]["cancelled"] and then[0]["cancel_reason"] is None
