"""A collector empties a small worklist by doing the work, at the keyboard (issue 13).

Four rows: a broken promise paid late, a broken promise followed up by a contact, a next
action marked done, and a suspended claim's review. Each leaves as SPEC 4.5, 4.7 and 4.9 say.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from textual.widgets import DataTable

from kyusho.app import KyushoApp
from kyusho.services.contacts import add_contact
from kyusho.services.imports import import_bytes
from models.schema import Claim
from screens.form import FormScreen
from screens.home import HomeScreen
from tests.conftest import TODAY, direct_writes
from tests.test_tui import SIZE, settle

PAID_LATE, FOLLOWED_UP, ACTION, SUSPENDED = "R5-000010", "R5-000020", "R5-000030", "R5-000040"


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _build(session) -> None:
    claims = [
        [
            "求償権番号",
            "代位弁済日",
            "代位弁済元金",
            "代位弁済利息",
            "委託契約日",
            "金融機関",
            "担当者",
        ]
    ]
    obligors = [["求償権番号", "関係人番号", "区分", "氏名", "カナ", "法人個人", "商人", "住所"]]
    for no in (PAID_LATE, FOLLOWED_UP, ACTION, SUSPENDED):
        claims.append([no, "2025-06-01", "1000000", "0", "2025-05-01", "テスト銀行", "kadmin"])
        obligors.append([no, "1", "主債務者", "山田 太郎", "ヤマダ タロウ", "個人", "0", "東京都"])
    import_bytes(session, "claims", _csv(claims))
    import_bytes(session, "obligors", _csv(obligors))
    promised = {"promised_amount": 50_000, "promised_on": date(2026, 11, 15)}
    at = datetime(2026, 11, 1, 10, 0)
    add_contact(session, PAID_LATE, 1, "phone", "入金を約束", at=at, **promised)
    add_contact(session, FOLLOWED_UP, 1, "phone", "入金を約束", at=at, **promised)
    add_contact(
        session, ACTION, 1, "phone", "不在", at=at, next_action="再架電", next_on=date(2026, 11, 20)
    )
    with direct_writes(session):
        Claim.update(
            status="suspended", status_since=date(2025, 11, 1), review_on=date(2026, 11, 1)
        ).where(Claim.claim_no == SUSPENDED).execute()


async def _cursor_to(pilot, claim_no: str) -> None:
    home = pilot.app.screen
    assert isinstance(home, HomeScreen)
    row = next(i for i, item in enumerate(home.items) if item.claim_no == claim_no)
    home.query_one(DataTable).move_cursor(row=row)
    await pilot.pause()


async def _type(pilot, text: str) -> None:
    for ch in text:
        await pilot.press(ch)


async def test_a_collector_empties_the_worklist_by_doing_the_work(session):
    _build(session)
    app = KyushoApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        assert sorted((i.kind, i.claim_no) for i in home.items) == [
            ("next_action", ACTION),
            ("promise", PAID_LATE),
            ("promise", FOLLOWED_UP),
            ("review", SUSPENDED),
        ]

        # the promised 50,000 arrives late: open the claim, record the receipt, come back
        await _cursor_to(pilot, PAID_LATE)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        await pilot.press("enter")  # 入金日: today
        await _type(pilot, "50000")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is home
        assert PAID_LATE not in {i.claim_no for i in home.items}

        # a broken promise followed up by phone: k, 1 (電話), 2 (不在), the note
        await _cursor_to(pilot, FOLLOWED_UP)
        await pilot.press("k")
        await settle(pilot)
        await pilot.press("1", "2")
        await _type(pilot, "留守電に伝言")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert FOLLOWED_UP not in {i.claim_no for i in home.items}

        # the next action was done some other way: d
        await _cursor_to(pilot, ACTION)
        await pilot.press("d")
        await settle(pilot)
        assert ACTION not in {i.claim_no for i in home.items}

        # the suspended claim's review: k, 6 (見直し), a typed outcome
        await _cursor_to(pilot, SUSPENDED)
        await pilot.press("k")
        await settle(pilot)
        await pilot.press("6")
        await _type(pilot, "状況変わらず")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)

        assert home.items == []
        assert home.query_one(DataTable).row_count == 0
    assert Claim.get(Claim.claim_no == SUSPENDED).review_on > TODAY
