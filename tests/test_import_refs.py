"""The 番号 rule of SPEC 5.4: receipts, events and contacts with a 番号 are matched by it alone.

A second file of rows that equal stored ones in every field but their 番号 records new facts
(a second payment of the same amount on the same day, a second 催告 the same day, a second
call): it must be added, and re-importing it must add nothing. Only rows without a 番号 fall
back to the all-fields match, which refuses them as duplicates.
"""

from __future__ import annotations

import csv
import io

import pytest

from kyusho.services.imports import ImportFailed, import_bytes
from kyusho.services.maintenance import rebuild
from kyusho.services.session import Session
from kyusho.services.staff import add_staff
from models.schema import Contact, LedgerEntry, LimitationEvent

STAFF = "tanaka"

CLAIMS = [
    [
        "求償権番号",
        "代位弁済日",
        "代位弁済元金",
        "代位弁済利息",
        "委託契約日",
        "金融機関",
        "担当者",
    ],
    ["R5-000001", "2023-04-10", "9800000", "200000", "2019-04-01", "サンプル銀行", STAFF],
    ["R5-000002", "2023-06-01", "3000000", "0", "2020-06-01", "みなと信用金庫", STAFF],
]
OBLIGORS = [
    ["求償権番号", "関係人番号", "区分", "氏名", "カナ", "法人個人", "商人", "住所"],
    ["R5-000001", "1", "主債務者", "株式会社サンプル", "サンプル", "法人", "", "東京都"],
    ["R5-000001", "2", "連帯保証人", "山田 太郎", "ヤマダ タロウ", "個人", "0", "東京都"],
    ["R5-000002", "1", "主債務者", "鈴木一郎", "スズキ イチロウ", "個人", "1", "横浜市"],
]
FILES = {
    "receipts": [
        ["求償権番号", "入金日", "金額", "入金者", "入金方法", "番号"],
        ["R5-000001", "2023-07-31", "500000", "1", "振込", "RC-1"],
        ["R5-000002", "2023-09-01", "100000", "1", "現金", "RC-2"],
    ],
    "events": [
        ["求償権番号", "関係人番号", "事由", "日付", "終了日", "番号"],
        ["R5-000001", "2", "催告", "2024-01-15", "", "EV-1"],
        ["R5-000002", "1", "承認", "2024-02-01", "", "EV-2"],
    ],
    "contacts": [
        ["求償権番号", "関係人番号", "日時", "担当者", "方法", "結果", "内容", "次回行動", "次回日", "番号"],
        ["R5-000001", "1", "2024-03-01 10:30", STAFF, "電話", "不在", "", "再架電", "2024-03-08", "CT-1"],
        ["R5-000002", "1", "2024-03-02 11:00", STAFF, "面談", "入金約束", "来月から", "", "", "CT-2"],
    ],
}  # fmt: skip
MODELS = {"receipts": LedgerEntry, "events": LimitationEvent, "contacts": Contact}
# the column a row without 番号 is refused on when it repeats a stored row
PLAIN_COLUMN = {"receipts": "入金日", "events": "事由", "contacts": "日時"}


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _renumbered(rows: list[list[str]], suffix: str) -> list[list[str]]:
    """The same rows with every 番号 changed: new facts that look like the stored ones."""
    i = rows[0].index("番号")
    return [rows[0], *([*r[:i], r[i] + suffix, *r[i + 1 :]] for r in rows[1:])]


def _stored(kind: str) -> int:
    return MODELS[kind].select().count()


@pytest.fixture
def s(session: Session) -> Session:
    add_staff(session, STAFF, "田中", "staff")
    for kind, rows in (("claims", CLAIMS), ("obligors", OBLIGORS)):
        import_bytes(session, kind, _csv(rows))
    return session


@pytest.mark.parametrize("kind", list(FILES))
def test_rows_with_a_new_ref_are_added_though_every_other_field_is_stored(s, kind):
    import_bytes(s, kind, _csv(FILES[kind]))
    second = _renumbered(FILES[kind], "-B")
    report = import_bytes(s, kind, _csv(second))
    assert (report.rows, report.added, report.skipped) == (2, 2, 0)
    assert _stored(kind) == 4
    # the projections (allocations, balances, clocks) take the new facts in
    assert rebuild(s, write=False).changed == 0
    # and that second file, imported again, adds nothing
    again = import_bytes(s, kind, _csv(second))
    assert (again.added, again.skipped) == (0, 2)
    assert _stored(kind) == 4


def test_a_second_receipt_with_its_own_ref_reduces_the_balance_again(s):
    rows = FILES["receipts"]
    import_bytes(s, "receipts", _csv(rows))
    import_bytes(s, "receipts", _csv(_renumbered(rows, "-B")))
    receipts = LedgerEntry.select().where(LedgerEntry.kind == "receipt")
    assert sorted((r.claim.claim_no, r.ref, r.amount) for r in receipts) == [
        ("R5-000001", "RC-1", 500_000),
        ("R5-000001", "RC-1-B", 500_000),
        ("R5-000002", "RC-2", 100_000),
        ("R5-000002", "RC-2-B", 100_000),
    ]
    assert all(r.alloc_costs + r.alloc_damages + r.alloc_principal == r.amount for r in receipts)


@pytest.mark.parametrize("kind", list(FILES))
def test_a_file_mixing_new_refs_and_ref_less_repeats_reports_only_the_repeats(s, kind):
    """Rows without 番号 still fall back to the all-fields match, even against rows stored
    with a 番号; the rows with a new 番号 beside them are not reported."""
    rows = FILES[kind]
    import_bytes(s, kind, _csv(rows))
    i = rows[0].index("番号")
    ref_less = [*rows[2][:i], "", *rows[2][i + 1 :]]
    mixed = [rows[0], _renumbered(rows, "-B")[1], ref_less]
    with pytest.raises(ImportFailed) as info:
        import_bytes(s, kind, _csv(mixed))
    assert [(e.line, e.column) for e in info.value.errors] == [(3, PLAIN_COLUMN[kind])]
    assert "すでに登録" in info.value.errors[0].reason
    assert _stored(kind) == 2
