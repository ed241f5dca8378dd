"""The 公庫 remittance ledger on a real database (SPEC 4.13): by half year, adjustments, JSON."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from conftest import ADMIN, TODAY

from kyusho.errors import InputError
from kyusho.services import entries
from kyusho.services.imports import import_bytes
from kyusho.services.remittance import ledger
from kyusho.services.session import Session

NO = "R6-000001"
UNINSURED = "R6-000002"

CLAIM_HEADER = [
    "求償権番号", "代位弁済日", "代位弁済元金", "代位弁済利息", "損害金率", "充当順序",
    "委託契約日", "金融機関", "担当者", "保険種類", "てん補率", "保険金", "保険金受領日",
]  # fmt: skip


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _setup(session: Session) -> None:
    """Case R1 of examples/remittance.toml, plus an uninsured claim that remits nothing."""
    base = ["2024-04-10", "10000000", "0", "14.0", "元金", "2023-01-10", "サンプル銀行", ADMIN]
    import_bytes(
        session,
        "claims",
        _csv(
            [
                CLAIM_HEADER,
                [NO, *base, "普通保険", "80", "8000000", "2024-07-10"],
                [UNINSURED, *base, "", "", "", ""],
            ]
        ),
    )
    obligors = [["求償権番号", "関係人番号", "区分", "氏名", "カナ", "法人個人", "住所"]]
    for no in (NO, UNINSURED):
        obligors.append([no, "1", "主債務者", "株式会社テスト", "テスト", "法人", "東京都"])
    import_bytes(session, "obligors", _csv(obligors))


def _receipt(session: Session, on: date, amount: int, *, recorded: date | None = None, no=NO):
    session.pin(recorded or on)
    try:
        return entries.post_receipt(session, no, on, amount, 1)
    finally:
        session.pin(TODAY)


@pytest.fixture
def r1(session: Session) -> Session:
    _setup(session)
    for on, amount in ((date(2024, 9, 30), 300000), (date(2024, 12, 25), 300000)):
        _receipt(session, on, amount)
        _receipt(session, on, amount, no=UNINSURED)
    _receipt(session, date(2025, 3, 31), 250000)
    return session


def test_the_ledger_json_of_a_fiscal_year(r1: Session) -> None:
    assert ledger(r1, 2024).json() == {
        "fiscal_year": 2024,
        "rows": [
            {
                "claim_no": NO,
                "date": "2024-09-30",
                "amount": 300000,
                "allocated_principal": 300000,
                "remittance": 240000,
                "half": 1,
            },
            {
                "claim_no": NO,
                "date": "2024-12-25",
                "amount": 300000,
                "allocated_principal": 300000,
                "remittance": 240000,
                "half": 2,
            },
            {
                "claim_no": NO,
                "date": "2025-03-31",
                "amount": 250000,
                "allocated_principal": 250000,
                "remittance": 200000,
                "half": 2,
            },
        ],
        "halves": [{"half": 1, "total": 240000}, {"half": 2, "total": 440000}],
    }


def test_one_half_year_and_the_table_for_csv(r1: Session) -> None:
    led = ledger(r1, 2024, half=2)
    assert led.halves == [(2, 440000)]
    assert [(r.date, r.remittance) for r in led.rows] == [
        (date(2024, 12, 25), 240000),
        (date(2025, 3, 31), 200000),
    ]
    header, rows = led.table()
    assert header[:5] == ["求償権番号", "入金日", "入金額", "元金充当額", "納付額"]
    assert rows[0][:6] == [NO, date(2024, 12, 25), 300000, 300000, 240000, "下期"]
    assert led.by_claim() == [(NO, 440000)]


def test_a_cancellation_after_the_half_year_is_booked_when_recorded(r1: Session) -> None:
    second = next(e for e in entries_of(NO) if e.date == date(2024, 12, 25))
    r1.pin(date(2025, 5, 12))
    entries.cancel_entry(r1, second.id, "誤入金")
    r1.pin(TODAY)
    # the reported 下期 of FY2024 is not rewritten
    assert ledger(r1, 2024).halves == [(1, 240000), (2, 440000)]
    fy2025 = ledger(r1, 2025)
    assert [(r.date, r.amount, r.remittance, r.half, r.adjustment) for r in fy2025.rows] == [
        (date(2024, 12, 25), -300000, -240000, 1, True)
    ]
    assert fy2025.rows[0].note.startswith("取消")
    assert fy2025.halves == [(1, -240000), (2, 0)]


def test_a_back_dated_receipt_is_an_adjustment_in_the_half_year_recorded(r1: Session) -> None:
    _receipt(r1, date(2025, 9, 1), 100000, recorded=date(2025, 10, 20))
    fy2025 = ledger(r1, 2025)
    assert [(r.date, r.remittance, r.half, r.adjustment) for r in fy2025.rows] == [
        (date(2025, 9, 1), 80000, 2, True)
    ]
    assert fy2025.halves == [(1, 0), (2, 80000)]


def test_the_ledger_as_of_a_past_date(r1: Session) -> None:
    r1.view_as_of = date(2025, 1, 31)
    assert ledger(r1, 2024).halves == [(1, 240000), (2, 240000)]


@pytest.mark.parametrize(
    ("fy", "half", "field"), [(2024, 3, "期"), (1800, None, "年度"), (True, None, "年度")]
)
def test_bad_year_or_half_is_refused(session: Session, fy, half, field) -> None:
    with pytest.raises(InputError) as err:
        ledger(session, fy, half)
    assert err.value.field == field


def entries_of(no: str):
    from models.schema import Claim, LedgerEntry

    claim = Claim.get(Claim.claim_no == no)
    return list(LedgerEntry.select().where(LedgerEntry.claim == claim.id))


async def test_the_ledger_on_screen_by_half_year_with_totals(r1: Session) -> None:
    from test_tui import SIZE, settle

    from kyusho.app import KyushoApp
    from screens.remittance import RemittanceScreen

    app = KyushoApp(r1)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(RemittanceScreen(2024))
        await settle(pilot)
        text = str(app.screen.query_one("#remittance-text").content)
        assert "上期 計 1件 240,000円" in text
        assert "下期 計 2件 440,000円" in text
        assert "年度計 680,000円" in text
        await pilot.press("right")
        await settle(pilot)
        assert "FY2025" in str(app.screen.query_one("#remittance-title").content)
        assert "年度計 0円" in str(app.screen.query_one("#remittance-text").content)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, RemittanceScreen)
