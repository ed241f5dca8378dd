"""The order of the worklist's contact items and which ones a limit keeps (SPEC 4.7).

Next actions and broken promises are read earliest day first. When more are due than the
worklist shows, the rows kept on the last day are those entered first (claim, then contact),
whatever plan SQLite picks; the items are then shown by day, claim number and obligor.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from conftest import TODAY, direct_writes, make_session

from kyusho.services.contacts import add_contact
from kyusho.services.imports import import_bytes
from kyusho.services.session import Session
from kyusho.services.staff import add_staff
from kyusho.services.worklist import WorkItem, worklist
from models.schema import Claim

STAFF = "tanaka"
OTHER = "suzuki"

# entered in this order, so claim ids do not follow claim numbers
CLAIMS = [
    ("R5-000300", STAFF),
    ("R5-000200", STAFF),
    ("R5-000100", STAFF),
    ("R5-000400", STAFF),
    ("R5-000050", OTHER),
    ("R5-000060", STAFF),  # paid: never listed
    ("R5-000070", STAFF),  # suspended: only its review, receipts and alerts (SPEC 4.9)
]


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.fixture
def s(session: Session) -> Session:
    add_staff(session, STAFF, "田中", "staff")
    add_staff(session, OTHER, "鈴木", "staff")
    claims = [["求償権番号", "代位弁済日", "代位弁済元金", "代位弁済利息", "委託契約日", "金融機関", "担当者"]]  # fmt: skip
    obligors = [["求償権番号", "関係人番号", "区分", "氏名", "カナ", "法人個人", "商人", "住所"]]
    for no, staff in CLAIMS:
        claims.append([no, "2023-06-01", "1000000", "0", "2023-05-01", "テスト銀行", staff])
        obligors.append([no, "1", "主債務者", "株式会社テスト", "テスト", "法人", "", "東京都"])
        obligors.append([no, "2", "連帯保証人", "山田 太郎", "ヤマダ タロウ", "個人", "0", "東京都"])  # fmt: skip
    import_bytes(session, "claims", _csv(claims))
    import_bytes(session, "obligors", _csv(obligors))
    with direct_writes(session):
        Claim.update(status="paid").where(Claim.claim_no == "R5-000060").execute()
        Claim.update(status="suspended").where(Claim.claim_no == "R5-000070").execute()
    return session


def _next(s: Session, no: str, on: date, what: str = "再架電", obligor_no: int = 1) -> None:
    add_contact(
        s,
        no,
        obligor_no,
        "phone",
        "架電",
        at=datetime(2026, 11, 1, 9),
        next_action=what,
        next_on=on,
    )


def _promise(s: Session, no: str, at: datetime, amount: int, on: date, obligor_no: int = 1) -> None:
    add_contact(s, no, obligor_no, "phone", "架電", at=at, promised_amount=amount, promised_on=on)


def _shown(items: list[WorkItem], kind: str) -> list[tuple[date | None, str, str, str]]:
    return [(i.due, i.claim_no, i.obligor, i.reason) for i in items if i.kind == kind]


D10, D15, D20 = date(2026, 11, 10), date(2026, 11, 15), date(2026, 11, 20)
CO, YAMADA = "株式会社テスト", "山田 太郎"


def test_next_actions_keep_the_first_entered_of_a_tied_day_and_show_by_claim_number(
    s: Session,
) -> None:
    _next(s, "R5-000300", D20)
    _next(s, "R5-000100", D15)
    _next(s, "R5-000200", D15, "訪問", obligor_no=2)
    _next(s, "R5-000400", D10)
    _next(s, "R5-000060", D10)  # paid claim
    _next(s, "R5-000070", D20, "書面")  # suspended claim: not worked, not listed
    _next(s, "R5-000050", date(2026, 11, 23))  # not due yet

    assert _shown(worklist(s, as_of=TODAY, all_staff=True, limit=2), "next_action") == [
        (D10, "R5-000400", CO, "次回行動: 再架電"),
        (D15, "R5-000200", YAMADA, "次回行動: 訪問"),  # its claim was entered first
    ]
    everything = [
        (D10, "R5-000400", CO, "次回行動: 再架電"),
        (D15, "R5-000100", CO, "次回行動: 再架電"),
        (D15, "R5-000200", YAMADA, "次回行動: 訪問"),
        (D20, "R5-000300", CO, "次回行動: 再架電"),
    ]
    assert (
        _shown(worklist(s, as_of=TODAY, all_staff=True, limit=3), "next_action") == everything[:3]
    )
    assert _shown(worklist(s, as_of=TODAY, all_staff=True), "next_action") == everything
    # the due date counts as due; the day before it does not
    assert _shown(worklist(s, as_of=D15, all_staff=True), "next_action") == everything[:3]
    # a staff member's own list follows the same rule
    tanaka = make_session(s.location, login=STAFF)
    mine = _shown(worklist(tanaka, as_of=TODAY, limit=2), "next_action")
    assert mine == [everything[0], everything[2]]
    assert worklist(make_session(s.location, login=OTHER), as_of=TODAY) == []


def test_broken_promises_keep_entry_order_within_a_day_and_claim(s: Session) -> None:
    n1 = date(2026, 11, 1)
    _promise(s, "R5-000100", datetime(2026, 10, 20, 9), 30_000, n1)
    _promise(s, "R5-000200", datetime(2026, 10, 21, 9), 20_000, n1)
    # entered later, made earlier, with the guarantor (a later contact with the company does
    # not retire the guarantor's promise)
    _promise(s, "R5-000200", datetime(2026, 10, 10, 9), 10_000, n1, obligor_no=2)
    _promise(s, "R5-000300", datetime(2026, 10, 1, 9), 40_000, date(2026, 10, 31))
    _promise(s, "R5-000060", datetime(2026, 10, 1, 9), 40_000, date(2026, 10, 31))  # paid claim
    _promise(s, "R5-000050", datetime(2026, 10, 1, 9), 50_000, TODAY)  # due today: not broken

    def shown(limit: int) -> list[tuple[date | None, str, str, str]]:
        return _shown(worklist(s, as_of=TODAY, all_staff=True, limit=limit), "promise")

    oct31 = (date(2026, 10, 31), "R5-000300", CO, "入金約束 40,000円 未入金")
    assert shown(1) == [oct31]
    # R5-000200 was entered before R5-000100: its two promises fill the limit
    assert shown(3) == [
        oct31,
        (n1, "R5-000200", YAMADA, "入金約束 10,000円 未入金"),  # shown by obligor name
        (n1, "R5-000200", CO, "入金約束 20,000円 未入金"),
    ]
    assert shown(500) == [
        oct31,
        (n1, "R5-000100", CO, "入金約束 30,000円 未入金"),
        (n1, "R5-000200", YAMADA, "入金約束 10,000円 未入金"),  # shown by obligor name
        (n1, "R5-000200", CO, "入金約束 20,000円 未入金"),
    ]
