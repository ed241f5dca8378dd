"""When each worklist row appears and when it leaves (SPEC 4.5, 4.7, 4.9), through the services.

A collector empties the worklist by doing the work: a promise leaves when it is paid (several
receipts add up, even late), at a later contact with that obligor, or when the claim leaves
`active`; a next action at a later contact with that obligor or when marked done; a cancelled
contact counts for nothing; a suspended claim shows only its review, a receipt since the last
review and its limitation alerts, and recording a review sets the next review date.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from conftest import TODAY, direct_writes, make_session

from kyusho.config import Config, Policy
from kyusho.errors import InputError
from kyusho.rules.periods import period_end
from kyusho.services.contacts import add_contact, cancel_contact, mark_done
from kyusho.services.entries import post_receipt
from kyusho.services.imports import import_bytes
from kyusho.services.plans import add_plan
from kyusho.services.session import Session
from kyusho.services.worklist import WorkItem, worklist
from models.schema import AuditEvent, Claim, Contact

NO = "R5-000001"
OLD = "R4-000002"  # subrogated 2022-01-10: its clocks complete within the alert window
SUSPENDED_SINCE = date(2026, 5, 1)


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.fixture
def s(session: Session) -> Session:
    claims = [["求償権番号", "代位弁済日", "代位弁済元金", "代位弁済利息", "委託契約日", "金融機関", "担当者"]]  # fmt: skip
    obligors = [["求償権番号", "関係人番号", "区分", "氏名", "カナ", "法人個人", "商人", "住所"]]
    for no, sub in ((NO, "2023-06-01"), (OLD, "2022-01-10")):
        claims.append([no, sub, "1000000", "0", "2021-05-01", "テスト銀行", session.login])
        obligors.append([no, "1", "主債務者", "株式会社テスト", "テスト", "法人", "", "東京都"])
        obligors.append([no, "2", "連帯保証人", "山田 太郎", "ヤマダ タロウ", "個人", "0", "東京都"])  # fmt: skip
    import_bytes(session, "claims", _csv(claims))
    import_bytes(session, "obligors", _csv(obligors))
    return session


def _rows(s: Session, kind: str, no: str = NO, as_of: date = TODAY) -> list[WorkItem]:
    return [
        i for i in worklist(s, as_of=as_of, all_staff=True) if i.kind == kind and i.claim_no == no
    ]


def _promise(s: Session, at: datetime, amount: int, on: date, obligor_no: int = 1) -> Contact:
    return add_contact(
        s, NO, obligor_no, "phone", "入金を約束", at=at, promised_amount=amount, promised_on=on
    )


def _call(s: Session, at: datetime, obligor_no: int = 1, **kw) -> Contact:
    return add_contact(s, NO, obligor_no, "phone", "架電", at=at, **kw)


def _suspend(s: Session, no: str, review_on: date) -> None:
    with direct_writes(s):
        Claim.update(status="suspended", status_since=SUSPENDED_SINCE, review_on=review_on).where(
            Claim.claim_no == no
        ).execute()


# --------------------------------------------------------------------------- promises (4.5)


def test_receipts_that_add_up_to_the_promise_keep_it(s: Session) -> None:
    _promise(s, datetime(2026, 11, 1, 10), 50_000, date(2026, 11, 10))
    post_receipt(s, NO, date(2026, 11, 5), 20_000, 1)
    post_receipt(s, NO, date(2026, 11, 10), 30_000, 1)
    assert _rows(s, "promise") == []


def test_a_broken_promise_says_what_is_missing_and_leaves_when_paid_late(s: Session) -> None:
    c = _promise(s, datetime(2026, 11, 1, 10), 50_000, date(2026, 11, 10))
    post_receipt(s, NO, date(2026, 11, 3), 30_000, 2)  # the guarantor's: not this promise
    [row] = _rows(s, "promise")
    assert (row.due, row.obligor_no, row.contact_id) == (date(2026, 11, 10), 1, c.id)
    assert row.reason == "入金約束 50,000円 未入金"
    assert row.leaves == "入金 50,000円 または次の交渉で消えます"
    post_receipt(s, NO, date(2026, 11, 15), 20_000, 1)
    [row] = _rows(s, "promise")
    assert row.reason == "入金約束 50,000円 残 30,000円"
    assert row.leaves == "入金 30,000円 または次の交渉で消えます"
    post_receipt(s, NO, date(2026, 11, 20), 30_000, 1)  # late, but it adds up now
    assert _rows(s, "promise") == []
    # as it stood before the late receipts, it was on the list
    assert [r.contact_id for r in _rows(s, "promise", as_of=date(2026, 11, 14))] == [c.id]


def test_a_broken_promise_leaves_at_a_later_contact_with_that_obligor(s: Session) -> None:
    c = _promise(s, datetime(2026, 10, 1, 10), 50_000, date(2026, 10, 10))
    _call(s, datetime(2026, 10, 20, 10), obligor_no=2)  # another obligor: not a follow-up
    assert [r.contact_id for r in _rows(s, "promise")] == [c.id]
    later = _call(s, datetime(2026, 10, 21, 10))
    assert _rows(s, "promise") == []
    # the day before the follow-up it was still there
    assert [r.contact_id for r in _rows(s, "promise", as_of=date(2026, 10, 20))] == [c.id]
    cancel_contact(s, later.id, "別の求償権の記録")  # a cancelled contact follows up nothing
    assert [r.contact_id for r in _rows(s, "promise")] == [c.id]


def test_a_broken_promise_leaves_when_the_claim_leaves_active(s: Session) -> None:
    _promise(s, datetime(2026, 10, 1, 10), 50_000, date(2026, 10, 10))
    assert len(_rows(s, "promise")) == 1
    _suspend(s, NO, TODAY + timedelta(days=100))
    assert _rows(s, "promise") == []


def test_a_promised_date_before_the_contact_is_refused_and_nothing_stored(s: Session) -> None:
    counts = Contact.select().count(), AuditEvent.select().count()
    with pytest.raises(InputError) as info:
        _promise(s, datetime(2026, 11, 10, 10), 50_000, date(2026, 11, 9))
    assert info.value.field == "約束日"
    assert (Contact.select().count(), AuditEvent.select().count()) == counts
    _promise(s, datetime(2026, 11, 10, 10), 50_000, date(2026, 11, 10))  # the same day is fine


# --------------------------------------------------------------------------- next actions (4.7)


def test_a_next_action_is_done_at_a_later_contact_with_that_obligor(s: Session) -> None:
    mine = _call(s, datetime(2026, 11, 1, 9), next_action="再架電", next_on=date(2026, 11, 15))
    his = _call(s, datetime(2026, 11, 2, 9), 2, next_action="訪問", next_on=date(2026, 11, 16))
    assert {r.contact_id for r in _rows(s, "next_action")} == {mine.id, his.id}
    assert all(r.leaves == "次の交渉か d で完了" for r in _rows(s, "next_action"))
    follow_up = _call(s, datetime(2026, 11, 20, 9))  # no next action of its own
    assert [r.contact_id for r in _rows(s, "next_action")] == [his.id]
    cancel_contact(s, follow_up.id, "入力誤り")
    assert {r.contact_id for r in _rows(s, "next_action")} == {mine.id, his.id}


def test_marking_a_next_action_done_takes_it_off(s: Session) -> None:
    c = _call(s, datetime(2026, 11, 1, 9), next_action="再架電", next_on=date(2026, 11, 15))
    plain = _call(s, datetime(2026, 11, 1, 9), 2)
    done = mark_done(s, c.id)
    assert done.next_done and done.next_done_by == s.login
    assert _rows(s, "next_action") == []
    # as it stood yesterday it was still due
    assert [r.contact_id for r in _rows(s, "next_action", as_of=TODAY - timedelta(days=1))] == [
        c.id
    ]
    events = AuditEvent.select().count()
    with pytest.raises(InputError) as info:
        mark_done(s, c.id)
    assert info.value.field == "次回行動" and "すでに完了" in info.value.message
    with pytest.raises(InputError) as info:
        mark_done(s, plain.id)
    assert "次回行動がありません" in info.value.message
    assert AuditEvent.select().count() == events
    assert AuditEvent.select().order_by(AuditEvent.seq.desc()).get().action == "contact.done"


def test_a_cancelled_contact_stays_stored_and_counts_for_nothing(s: Session) -> None:
    c = _call(s, datetime(2026, 11, 1, 9), next_action="再架電", next_on=date(2026, 11, 15))
    with pytest.raises(InputError) as info:
        cancel_contact(s, c.id, "  ")
    assert info.value.field == "取消理由"
    cancelled = cancel_contact(s, c.id, "別の債務者の記録")
    assert Contact.get_by_id(c.id).note == c.note  # kept, not deleted
    assert (cancelled.cancelled, cancelled.cancel_reason, cancelled.cancelled_by) == (
        True,
        "別の債務者の記録",
        s.login,
    )
    assert _rows(s, "next_action") == []
    event = AuditEvent.select().order_by(AuditEvent.seq.desc()).get()
    assert (event.action, event.reason) == ("contact.cancel", "別の債務者の記録")
    with pytest.raises(InputError):
        cancel_contact(s, c.id, "二度目")
    with pytest.raises(InputError):
        mark_done(s, c.id)


# --------------------------------------------------------------------------- suspended (4.9)


def test_a_suspended_claim_shows_only_its_review_its_receipts_and_its_alerts(
    s: Session,
) -> None:
    for no in (NO, OLD):
        add_contact(
            s, no, 1, "phone", "架電", at=datetime(2026, 11, 1, 9), next_action="再架電",
            next_on=date(2026, 11, 15),
        )  # fmt: skip
        add_contact(
            s, no, 2, "phone", "架電", at=datetime(2026, 10, 1, 9), promised_amount=10_000,
            promised_on=date(2026, 10, 10),
        )  # fmt: skip
        add_plan(s, no, 2, date(2026, 6, 1), 10_000, 10)
    kinds = {i.kind for i in worklist(s, all_staff=True) if i.claim_no == OLD}
    assert kinds == {"limitation", "next_action", "promise", "plan_arrears"}

    _suspend(s, OLD, TODAY + timedelta(days=30))
    kinds = {i.kind for i in worklist(s, all_staff=True) if i.claim_no == OLD}
    assert kinds == {"limitation"}  # a suspended claim can still be lost
    # the active claim keeps its rows
    assert {i.kind for i in worklist(s, all_staff=True) if i.claim_no == NO} == {
        "next_action",
        "promise",
        "plan_arrears",
    }


def test_a_receipt_on_a_suspended_claim_is_listed_until_a_review(s: Session) -> None:
    _suspend(s, NO, TODAY + timedelta(days=30))
    post_receipt(s, NO, date(2026, 4, 30), 5_000, 1)  # before the suspension: not listed
    assert _rows(s, "suspended_receipt") == []
    post_receipt(s, NO, date(2026, 11, 10), 20_000, 2)
    post_receipt(s, NO, date(2026, 11, 12), 10_000, 1)
    [row] = _rows(s, "suspended_receipt")
    assert row.due == date(2026, 11, 10)
    assert row.reason.startswith("停止中の入金 30,000円") and "管理再開" in row.reason
    assert row.leaves
    review = add_contact(s, NO, 1, "review", "資力に変化なし", at=datetime(2026, 11, 22, 9))
    assert _rows(s, "suspended_receipt") == []
    cancel_contact(s, review.id, "入力誤り")
    assert len(_rows(s, "suspended_receipt")) == 1


def test_recording_a_review_sets_the_next_review_date(s: Session) -> None:
    _suspend(s, NO, TODAY - timedelta(days=1))
    [row] = _rows(s, "review")
    assert row.leaves == "見直しを記録すると消えます"
    review = add_contact(s, NO, None, "review", "所在調査の結果変化なし")
    assert Claim.get(Claim.claim_no == NO).review_on == period_end(TODAY, months=12)
    assert _rows(s, "review") == []
    # cancelling the review puts the date back where the suspension set it
    cancel_contact(s, review.id, "入力誤り")
    assert Claim.get(Claim.claim_no == NO).review_on == period_end(SUSPENDED_SINCE, months=12)


def test_the_review_interval_comes_from_the_policy(s: Session) -> None:
    _suspend(s, NO, TODAY)
    config = Config(db_path=s.location, policy=Policy(suspension_review_months=6))
    add_contact(make_session(s.location, config=config), NO, 1, "review", "変化なし")
    assert Claim.get(Claim.claim_no == NO).review_on == period_end(TODAY, months=6)


def test_a_review_is_refused_on_an_active_claim(s: Session) -> None:
    with pytest.raises(InputError) as info:
        add_contact(s, NO, 1, "review", "変化なし")
    assert info.value.field == "方法"
    assert Contact.select().count() == 0


def test_imported_contacts_follow_the_same_rules(s):
    """A promise dated before its contact and a 見直し row are refused; a later imported
    contact with the same obligor closes that obligor's next action, not another's."""
    from kyusho.services.imports import ImportFailed

    head = "求償権番号,関係人番号,日時,担当者,方法,結果,内容,約束金額,約束日,次回行動,次回日,番号\n"
    bad = (
        head + f"{NO},1,2026-11-10 10:00,{s.login},電話,約束,,10000,2026-11-01,,,C1\n"
        f"{NO},1,2026-11-10 11:00,{s.login},見直し,確認,,,,,,C2\n"
    )
    with pytest.raises(ImportFailed) as info:
        import_bytes(s, "contacts", bad.encode())
    assert sorted((e.line, e.column) for e in info.value.errors) == [(2, "約束日"), (3, "方法")]
    good = (
        head + f"{NO},1,2026-11-01 10:00,{s.login},電話,不在,,,,再架電,2026-11-05,C3\n"
        f"{NO},2,2026-11-01 09:00,{s.login},電話,不在,,,,再架電,2026-11-05,C4\n"
        f"{NO},1,2026-11-03 10:00,{s.login},電話,不在,,,,,,C5\n"
    )
    import_bytes(s, "contacts", good.encode())
    done = {c.ref: c.next_done for c in Contact.select() if c.ref in ("C3", "C4")}
    assert done == {"C3": True, "C4": False}
