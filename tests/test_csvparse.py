"""The pure stage of CSV import (SPEC 5.4): every kind, every encoding, every bad cell."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kyusho.errors import InputError
from kyusho.rules.csvparse import COLUMNS, KINDS, ParseResult, RowError, decode, parse_csv

RATE = Decimal("14.0")
MUNICIPALITIES = {"東京都", "横浜市", "北海道"}


def csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def parse(kind: str, text: str | bytes) -> ParseResult:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_csv(kind, data, default_damages_rate=RATE, municipalities=MUNICIPALITIES)


def errors_of(result: ParseResult) -> set[tuple[int, str]]:
    return {(e.line, e.column) for e in result.errors}


# One good row per kind, under Japanese headers (all columns).
GOOD: dict[str, tuple[list[str], list[str]]] = {
    "municipalities": (
        ["求償権番号", "損失補償団体", "損失補償割合", "損失補償金額", "回収納付金"],
        ["R6-000123", "東京都", "80", "3,000,000", "400,000"],
    ),
    "claims": (
        [
            "求償権番号", "代位弁済日", "代位弁済元金", "代位弁済利息", "損害金率", "充当順序",
            "委託契約日", "金融機関", "制度融資", "保険種類", "てん補率", "保険金",
            "保険金受領日", "損失補償団体", "担当者",
        ],
        [
            "R6-000123", "R6.4.10", "9,800,000", "200,000", "14.6", "元金", "2019/4/1",
            "サンプル銀行", "創業支援資金", "普通保険", "80", "7,000,000", "2024-06-03",
            "東京都・横浜市", "tanaka",
        ],
    ),
    "obligors": (
        ["求償権番号", "関係人番号", "区分", "氏名", "カナ", "法人個人", "商人", "生年月日", "住所", "状態"],
        ["R6-000123", "2", "連帯保証人", "山田 太郎", "ﾔﾏﾀﾞ ﾀﾛｳ", "個人", "いいえ", "S45.3.1", "東京都千代田区1-1", "所在不明"],
    ),
    "receipts": (
        ["求償権番号", "入金日", "金額", "入金者", "入金方法", "番号"],
        ["R6-000123", "2024-07-31", "500,000円", "1", "現金", "N-0001"],
    ),
    "events": (
        ["求償権番号", "関係人番号", "事由", "日付", "終了日", "番号"],
        ["R6-000123", "1", "支払督促申立", "2024/8/1", "2024/12/1", "E-1"],
    ),
    "contacts": (
        ["求償権番号", "関係人番号", "日時", "担当者", "方法", "結果", "内容", "約束金額", "約束日", "次回行動", "次回日"],
        ["R6-000123", "1", "2024-07-01 10:30", "tanaka", "電話", "入金約束", "月末に払うとのこと\n要確認", "50,000", "R6.7.31", "入金確認", "2024/8/1"],
    ),
}  # fmt: skip

EXPECTED: dict[str, dict[str, object]] = {
    "municipalities": {
        "claim_no": "R6-000123",
        "municipality": "東京都",
        "ratio": Decimal("80"),
        "compensated_amount": 3000000,
        "remittances_paid": 400000,
    },
    "claims": {
        "claim_no": "R6-000123",
        "subrogation_date": date(2024, 4, 10),
        "loan_principal": 9_800_000,
        "loan_interest": 200_000,
        "damages_rate": Decimal("14.6"),
        "allocation_order": "principal_first",
        "contract_date": date(2019, 4, 1),
        "lender": "サンプル銀行",
        "programme": "創業支援資金",
        "insurance_type": "普通保険",
        "cover_ratio": Decimal("80"),
        "insurance_paid": 7_000_000,
        "insurance_paid_on": date(2024, 6, 3),
        "municipalities": ["東京都", "横浜市"],
        "staff": "tanaka",
    },
    "obligors": {
        "claim_no": "R6-000123",
        "obligor_no": 2,
        "role": "joint_guarantor",
        "name": "山田 太郎",
        "kana": "ヤマダ タロウ",
        "kind": "person",
        "merchant": False,
        "birth_date": date(1970, 3, 1),
        "address": "東京都千代田区1-1",
        "state": "whereabouts_unknown",
    },
    "receipts": {
        "claim_no": "R6-000123",
        "date": date(2024, 7, 31),
        "amount": 500_000,
        "payer": 1,
        "method": "cash",
        "ref": "N-0001",
    },
    "events": {
        "claim_no": "R6-000123",
        "obligor_no": 1,
        "kind": "suit_filed",
        "date": date(2024, 8, 1),
        "until": date(2024, 12, 1),
        "ref": "E-1",
    },
    "contacts": {
        "claim_no": "R6-000123",
        "obligor_no": 1,
        "at": datetime(2024, 7, 1, 10, 30),
        "staff": "tanaka",
        "channel": "phone",
        "outcome": "入金約束",
        "note": "月末に払うとのこと\n要確認",
        "promised_amount": 50_000,
        "promised_on": date(2024, 7, 31),
        "next_action": "入金確認",
        "next_on": date(2024, 8, 1),
        "ref": None,
    },
}


def good_file(kind: str, *extra_rows: list[str]) -> str:
    header, row = GOOD[kind]
    return csv_text([header, row, *extra_rows])


def with_cell(kind: str, column: str, value: str) -> list[str]:
    header, row = GOOD[kind]
    changed = list(row)
    changed[header.index(column)] = value
    return changed


def only_row(result: ParseResult) -> dict[str, object]:
    assert result.errors == []
    assert len(result.rows) == 1
    return result.rows[0].values


# --- columns and happy paths ---------------------------------------------------------------


def test_columns_are_exported_for_every_kind() -> None:
    assert (
        set(COLUMNS)
        == set(KINDS)
        == {
            "claims",
            "obligors",
            "receipts",
            "events",
            "contacts",
            "municipalities",
        }
    )
    for kind, specs in COLUMNS.items():
        assert specs[0].name == "求償権番号" and specs[0].alias == "claim_no" and specs[0].required
        assert len({s.name for s in specs}) == len(specs) == len({s.alias for s in specs})
        assert set(EXPECTED[kind]) == {s.alias for s in specs}
    claims = {s.alias: s for s in COLUMNS["claims"]}
    assert claims["damages_rate"].name == "損害金率" and not claims["damages_rate"].required
    assert claims["staff"].name == "担当者" and claims["staff"].required


@pytest.mark.parametrize("kind", KINDS)
def test_happy_path(kind: str) -> None:
    result = parse(kind, good_file(kind))
    assert result.ok
    assert result.rows[0].line == 2
    assert result.rows[0].values == EXPECTED[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_english_headers_give_the_same_values(kind: str) -> None:
    header, row = GOOD[kind]
    by_name = {s.name: s.alias for s in COLUMNS[kind]}
    english = [by_name[h] for h in header]
    assert only_row(parse(kind, csv_text([english, row]))) == EXPECTED[kind]
    upper = [h.upper() for h in english]
    assert only_row(parse(kind, csv_text([upper, row]))) == EXPECTED[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_utf8_bom_and_cp932_give_equal_results(kind: str) -> None:
    text = good_file(kind)
    results = [
        parse(kind, text.encode("utf-8")),
        parse(kind, text.encode("utf-8-sig")),
        parse(kind, text.encode("cp932")),
    ]
    assert results[0].ok
    assert results[0] == results[1] == results[2]


def test_decode() -> None:
    assert decode("求償権番号".encode()) == "求償権番号"
    assert decode("求償権番号".encode("utf-8-sig")) == "求償権番号"
    assert decode("求償権番号".encode("cp932")) == "求償権番号"
    assert decode("髙橋①".encode("cp932")) == "髙橋①"  # NEC/IBM extensions of CP932


@pytest.mark.parametrize("data", [b"\x81\x20abc", b"\xef\xbb\xbf\xff\xfe"])
def test_decode_refuses_unknown_encodings(data: bytes) -> None:
    with pytest.raises(InputError) as info:
        decode(data)
    assert info.value.field == "ファイル"
    result = parse("receipts", data)
    assert not result.ok and result.rows == []
    assert result.errors[0].line == 1


def test_optional_columns_may_be_left_out_and_take_defaults() -> None:
    text = csv_text(
        [
            ["求償権番号", "代位弁済日", "代位弁済元金", "代位弁済利息", "委託契約日", "金融機関", "担当者"],
            ["R5-000001", "2023-04-10", "9800000", "0", "2020-04-01", "サンプル銀行", "sato"],
        ]
    )  # fmt: skip
    values = only_row(parse("claims", text))
    assert values["damages_rate"] == RATE
    assert values["allocation_order"] == "statutory"
    assert values["loan_interest"] == 0
    assert values["municipalities"] == []
    for key in (
        "programme",
        "insurance_type",
        "cover_ratio",
        "insurance_paid",
        "insurance_paid_on",
    ):
        assert values[key] is None
    assert list(values) == [s.alias for s in COLUMNS["claims"]]


def test_blank_optional_cells_take_defaults() -> None:
    header, _ = GOOD["obligors"]
    row = ["R6-000123", "1", "主債務者", "株式会社サンプル", "カ)サンプル", "法人", "", "", "", ""]
    values = only_row(parse("obligors", csv_text([header, row])))
    assert values["merchant"] is None
    assert values["birth_date"] is None
    assert values["address"] == ""
    assert values["state"] == "normal"
    assert values["kind"] == "corporation"


# --- lines --------------------------------------------------------------------------------


def test_blank_lines_are_skipped_and_lines_are_physical() -> None:
    header, row = GOOD["contacts"]
    second = with_cell("contacts", "内容", "一行目\n二行目\n三行目")
    third = with_cell("contacts", "日時", "2024-07-02 09:00")
    text = csv_text([header, row]) + "\r\n" + ",,,,,,,,,,\r\n" + csv_text([second, third])
    result = parse("contacts", text)
    assert result.ok
    # header 1; row 2-3 (its note has a line break); blank 4; commas only 5; 6-8; 9.
    assert [r.line for r in result.rows] == [2, 6, 9]
    assert result.rows[1].values["note"] == "一行目\n二行目\n三行目"


def test_errors_after_multiline_cells_name_the_right_line() -> None:
    second = with_cell("contacts", "内容", "a\nb")
    bad = with_cell("contacts", "方法", "伝書鳩")
    result = parse("contacts", good_file("contacts", second, bad))
    assert errors_of(result) == {(6, "方法")}


# --- header errors ------------------------------------------------------------------------


def test_unknown_duplicate_and_missing_columns_are_line_1_errors() -> None:
    header = ["求償権番号", "入金日", "金額", "amount", "備考"]
    row = ["R6-000123", "2024-07-31", "1000", "1000", "x"]
    result = parse("receipts", csv_text([header, row]))
    assert errors_of(result) == {(1, "amount"), (1, "備考"), (1, "入金者")}
    reasons = {e.column: e.reason for e in result.errors}
    assert "重複" in reasons["amount"]
    assert "入金者" in reasons["入金者"] and "payer" in reasons["入金者"]
    assert "列ではありません" in reasons["備考"]
    assert result.rows == []


def test_header_errors_still_report_bad_cells() -> None:
    header = ["求償権番号", "入金日", "金額"]
    result = parse("receipts", csv_text([header, ["R6-1", "2024-02-30", "1000"]]))
    assert errors_of(result) == {(1, "入金者"), (2, "入金日")}
    assert result.rows == []


def test_empty_file_has_no_header() -> None:
    for data in (b"", b"\r\n\r\n", "\ufeff".encode()):
        result = parse("claims", data)
        assert [(e.line, e.column) for e in result.errors] == [(1, "")]
        assert "見出し" in result.errors[0].reason


def test_header_names_are_width_and_space_insensitive() -> None:
    header, row = GOOD["receipts"]
    header = [f" {h}\u3000" for h in header]
    assert only_row(parse("receipts", csv_text([header, row]))) == EXPECTED["receipts"]


def test_trailing_empty_columns_are_ignored_but_not_their_values() -> None:
    header, row = GOOD["receipts"]
    assert parse("receipts", csv_text([[*header, ""], [*row, ""]])).ok
    assert parse("receipts", csv_text([header, [*row, "", ""]])).ok
    result = parse("receipts", csv_text([[*header, ""], [*row, "x"]]))
    assert errors_of(result) == {(2, "7列目")}


def test_a_row_with_the_wrong_number_of_cells_is_an_error() -> None:
    header, row = GOOD["receipts"]
    result = parse("receipts", csv_text([header, row[:-1], [*row, "extra"], row]))
    assert errors_of(result) == {(2, ""), (3, "")}
    assert all("列の数" in e.reason for e in result.errors)
    assert [r.line for r in result.rows] == [4]


def test_broken_quoting_is_reported_with_its_line() -> None:
    header, row = GOOD["receipts"]
    text = csv_text([header, row]) + 'R6-1,"2024-07-31,100,1\r\n'
    result = parse("receipts", text)
    assert [(e.line, e.column) for e in result.errors] == [(3, "")]
    assert "引用符" in result.errors[0].reason


# --- bad cells ----------------------------------------------------------------------------


def test_every_bad_cell_of_every_row_is_reported() -> None:
    header, row = GOOD["claims"]
    bad1 = list(row)
    bad1[header.index("代位弁済日")] = "H31.5.1"
    bad1[header.index("代位弁済元金")] = "-1"
    bad1[header.index("担当者")] = ""
    bad2 = with_cell("claims", "損害金率", "30")
    bad2[0] = "R6-000124"
    result = parse("claims", csv_text([header, bad1, row[:], bad2]))
    assert errors_of(result) == {
        (2, "代位弁済日"),
        (2, "代位弁済元金"),
        (2, "担当者"),
        (4, "損害金率"),
    }
    reasons = {(e.line, e.column): e.reason for e in result.errors}
    assert "平成の期間" in reasons[(2, "代位弁済日")]
    assert "マイナス" in reasons[(2, "代位弁済元金")]
    assert "入力してください" in reasons[(2, "担当者")]
    assert "29.2以下" in reasons[(4, "損害金率")]
    assert [r.line for r in result.rows] == [3]  # the service imports nothing: errors exist


def test_a_repeated_bad_value_is_reported_on_every_row() -> None:
    header, row = GOOD["claims"]
    rows = [with_cell("claims", "代位弁済日", "R1.4.30") for _ in range(3)]
    for i, r in enumerate(rows):
        r[0] = f"R6-{i}"
    result = parse("claims", csv_text([header, *rows]))
    assert errors_of(result) == {(2, "代位弁済日"), (3, "代位弁済日"), (4, "代位弁済日")}


def test_rows_do_not_share_mutable_values() -> None:
    other = with_cell("claims", "求償権番号", "R6-000124")
    first, second = parse("claims", good_file("claims", other)).rows
    first.values["municipalities"].append("北海道")  # type: ignore[union-attr]
    assert second.values["municipalities"] == ["東京都", "横浜市"]


def test_errors_name_the_column_as_written_in_the_file() -> None:
    header, row = GOOD["receipts"]
    english = ["claim_no", "date", "AMOUNT", "payer", "method", "ref"]
    result = parse("receipts", csv_text([english, with_cell("receipts", "金額", "0")]))
    assert result.errors == [RowError(2, "AMOUNT", "金額は1円以上で入力してください")]


@pytest.mark.parametrize(
    ("kind", "column", "value"),
    [
        ("claims", "求償権番号", ""),
        ("claims", "求償権番号", "R6 000123"),
        ("claims", "求償権番号", "R6-0001234567890123456"),
        ("claims", "代位弁済元金", "0"),
        ("claims", "代位弁済元金", "1.5"),
        ("claims", "代位弁済利息", ""),
        ("claims", "充当順序", "先入先出"),
        ("claims", "委託契約日", "25/4/1"),
        ("claims", "てん補率", "0"),
        ("claims", "てん補率", "100.1"),
        ("claims", "保険金", "abc"),
        ("claims", "損失補償団体", "東京都・大阪府"),
        ("claims", "損失補償団体", "東京都・・横浜市"),
        ("claims", "担当者", "田中"),
        ("claims", "金融機関", "サンプル\n銀行"),
        ("obligors", "関係人番号", "0"),
        ("obligors", "関係人番号", "1.0"),
        ("obligors", "区分", "保証人"),
        ("obligors", "氏名", ""),
        ("obligors", "カナ", "山田太郎"),
        ("obligors", "法人個人", "団体"),
        ("obligors", "商人", "たぶん"),
        ("obligors", "生年月日", "1970-02-30"),
        ("obligors", "状態", "行方不明"),
        ("receipts", "入金日", "2024-02-30"),
        ("receipts", "金額", "0"),
        ("receipts", "金額", "-500"),
        ("receipts", "入金者", "主債務者"),
        ("receipts", "入金方法", "小切手"),
        ("events", "事由", "差押"),
        ("events", "日付", ""),
        ("events", "終了日", "2024/7/31"),
        ("contacts", "日時", "2024-07-01 25:00"),
        ("contacts", "担当者", ""),
        ("contacts", "方法", "メール"),
        ("contacts", "結果", ""),
        ("contacts", "約束金額", "0"),
    ],
)
def test_bad_cell_is_reported_with_line_column_and_reason(
    kind: str, column: str, value: str
) -> None:
    bad_line = good_file(kind).count("\n") + 1  # the good row may span lines (contacts)
    result = parse(kind, good_file(kind, with_cell(kind, column, value)))
    assert result.rows[0].values == EXPECTED[kind]  # the good row still parses
    assert len(result.rows) == 1
    assert errors_of(result) == {(bad_line, column)}
    assert column in result.errors[0].reason


# --- rules across cells -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        ({"保険金受領日": ""}, "保険金受領日"),
        ({"保険金": ""}, "保険金"),
        ({"てん補率": ""}, "てん補率"),
        ({"保険種類": "", "てん補率": "", "保険金": "", "保険金受領日": "2024-06-03"}, "保険種類"),
        ({"保険金受領日": "2024-04-09"}, "保険金受領日"),
        ({"委託契約日": "2024-04-11"}, "委託契約日"),
    ],
)
def test_claim_rules_across_cells(changes: dict[str, str], column: str) -> None:
    header, row = GOOD["claims"]
    row = list(row)
    for name, value in changes.items():
        row[header.index(name)] = value
    result = parse("claims", csv_text([header, row]))
    assert (2, column) in errors_of(result)
    assert result.rows == []


def test_claim_without_insurance_is_fine() -> None:
    header, row = GOOD["claims"]
    row = list(row)
    for name in ("保険種類", "てん補率", "保険金", "保険金受領日", "制度融資", "損失補償団体"):
        row[header.index(name)] = ""
    values = only_row(parse("claims", csv_text([header, row])))
    assert values["insurance_type"] is None and values["municipalities"] == []


def test_claim_cell_variants() -> None:
    header, row = GOOD["claims"]
    row = list(row)
    row[header.index("求償権番号")] = "Ｒ６－０００１２３"
    row[header.index("充当順序")] = "statutory"
    row[header.index("損害金率")] = ""
    row[header.index("てん補率")] = "70％"
    row[header.index("損失補償団体")] = "北海道、東京都､北海道"
    values = only_row(parse("claims", csv_text([header, row])))
    assert values["claim_no"] == "R6-000123"
    assert values["allocation_order"] == "statutory"
    assert values["damages_rate"] == RATE
    assert values["cover_ratio"] == Decimal("70")
    assert values["municipalities"] == ["北海道", "東京都"]


def test_claim_no_may_not_repeat_within_a_file() -> None:
    header, row = GOOD["claims"]
    other = with_cell("claims", "求償権番号", "R6-000124")
    same = with_cell("claims", "求償権番号", "Ｒ６－０００１２３")
    result = parse("claims", csv_text([header, row, other, same]))
    assert [(e.line, e.column) for e in result.errors] == [(4, "求償権番号")]
    assert "2行目" in result.errors[0].reason


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("typed", ["r6-000123", "ｒ６－０００１２３", "\u3000r6-000123"])
def test_claim_no_is_stored_canonical_in_every_kind(kind: str, typed: str) -> None:
    header, _ = GOOD[kind]
    values = only_row(parse(kind, csv_text([header, with_cell(kind, "求償権番号", typed)])))
    assert values == EXPECTED[kind]


def test_claim_no_in_other_case_repeats_within_a_file() -> None:
    header, row = GOOD["claims"]
    result = parse(
        "claims", csv_text([header, row, with_cell("claims", "求償権番号", "r6-000123")])
    )
    assert [(e.line, e.column) for e in result.errors] == [(3, "求償権番号")]


@pytest.mark.parametrize(
    ("kind", "column", "value", "shown"),
    [
        ("claims", "求償権番号", "R6-\u200b000123", "U+200B"),
        ("receipts", "求償権番号", "R6-000123\ufeff", "U+FEFF"),
        ("events", "求償権番号", "\u2066R6-000123\u2069", "U+2066"),
        ("contacts", "求償権番号", "R6-000123\u200f", "U+200F"),
        ("obligors", "氏名", "山田\u200b太郎", "U+200B"),
        ("obligors", "氏名", "山田\u202e太郎", "U+202E"),
        ("obligors", "カナ", "ヤマダ\u2060タロウ", "U+2060"),
        ("obligors", "住所", "東京都\u200c千代田区1-1", "U+200C"),
    ],
)
def test_invisible_characters_are_refused_with_line_column_and_character(
    kind: str, column: str, value: str, shown: str
) -> None:
    bad_line = good_file(kind).count("\n") + 1
    result = parse(kind, good_file(kind, with_cell(kind, column, value)))
    assert len(result.rows) == 1  # the good row still parses
    assert errors_of(result) == {(bad_line, column)}
    assert result.errors[0].reason == f"見えない文字（{shown}）が含まれています"


def test_obligor_number_1_is_the_principal_debtor() -> None:
    header, _ = GOOD["obligors"]
    principal = ["R6-1", "1", "主債務者", "株式会社サンプル", "カ)サンプル", "法人", "", "", "", ""]
    not_first = [
        "R6-2",
        "2",
        "principal_debtor",
        "株式会社A",
        "カ)エー",
        "corporation",
        "",
        "",
        "",
        "",
    ]
    guarantor_first = [
        "R6-3",
        "1",
        "連帯保証人",
        "山田太郎",
        "ヤマダタロウ",
        "個人",
        "1",
        "",
        "",
        "",
    ]
    result = parse("obligors", csv_text([header, principal, not_first, guarantor_first]))
    assert errors_of(result) == {(3, "関係人番号"), (4, "区分")}
    assert [r.values["role"] for r in result.rows] == ["principal_debtor"]


def test_obligor_rows_repeat_only_by_claim_and_number() -> None:
    header, row = GOOD["obligors"]
    other_claim = with_cell("obligors", "求償権番号", "R6-000999")
    result = parse("obligors", csv_text([header, row, other_claim, row]))
    assert errors_of(result) == {(4, "関係人番号")}


@pytest.mark.parametrize(("text", "value"), [("1", True), ("はい", True), ("TRUE", True), ("0", False), ("false", False), ("いいえ", False)])  # fmt: skip
def test_merchant_flag(text: str, value: bool) -> None:
    assert only_row(parse("obligors", csv_text([GOOD["obligors"][0], with_cell("obligors", "商人", text)])))["merchant"] is value  # fmt: skip


def test_merchant_flag_is_for_individuals_only() -> None:
    header, _ = GOOD["obligors"]
    row = ["R6-1", "1", "主債務者", "株式会社サンプル", "カ)サンプル", "法人", "1", "", "", ""]
    result = parse("obligors", csv_text([header, row]))
    assert errors_of(result) == {(2, "商人")}


@pytest.mark.parametrize(
    ("text", "code"),
    [("承認", "acknowledgement"), ("demand", "demand"), ("和解成立", "judgment_final"), ("却下", "suit_withdrawn"), ("時効援用", "invoked")],
)  # fmt: skip
def test_event_kinds_by_label_code_or_alias(text: str, code: str) -> None:
    row = with_cell("events", "事由", text)
    row[GOOD["events"][0].index("終了日")] = ""
    values = only_row(parse("events", csv_text([GOOD["events"][0], row])))
    assert values["kind"] == code and values["until"] is None


def test_event_until_must_follow_its_date() -> None:
    result = parse("events", good_file("events", with_cell("events", "終了日", "2024/8/1")))
    assert errors_of(result) == {(3, "終了日")}


def test_receipt_defaults() -> None:
    header = ["claim_no", "date", "amount", "payer"]
    values = only_row(
        parse("receipts", csv_text([header, ["R6-1", "R6.7.31", "１，０００", "２"]]))
    )
    assert values == {
        "claim_no": "R6-1",
        "date": date(2024, 7, 31),
        "amount": 1000,
        "payer": 2,
        "method": "transfer",
        "ref": None,
    }


@pytest.mark.parametrize(("amount", "on", "column"), [("50,000", "", "約束日"), ("", "R6.7.31", "約束金額")])  # fmt: skip
def test_contact_promise_needs_amount_and_date(amount: str, on: str, column: str) -> None:
    row = with_cell("contacts", "約束金額", amount)
    row[GOOD["contacts"][0].index("約束日")] = on
    result = parse("contacts", csv_text([GOOD["contacts"][0], row]))
    assert errors_of(result) == {(2, column)}


def test_contact_optional_columns_and_date_only_time() -> None:
    header = ["求償権番号", "関係人番号", "日時", "担当者", "方法", "結果", "内容"]
    row = ["R6-1", "1", "R6.7.1", "tanaka", "面談", "不在", ""]
    values = only_row(parse("contacts", csv_text([header, row])))
    assert values["at"] == datetime(2024, 7, 1)
    assert values["note"] == ""
    assert values["channel"] == "meeting"
    for key in ("promised_amount", "promised_on", "next_action", "next_on", "ref"):
        assert values[key] is None


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(InputError):
        parse("payments", good_file("receipts"))


# --- property: nothing crashes ------------------------------------------------------------

CELL_TEXT = st.one_of(
    st.text(max_size=25),
    st.text(alphabet="0123456789,.-/年月日元RHS令和平成 :：，．－円%", max_size=15),
)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(KINDS), st.data())
def test_random_text_in_any_cell_only_yields_errors(kind: str, data: st.DataObject) -> None:
    header, row = GOOD[kind]
    row = list(row)
    for index in data.draw(st.sets(st.integers(0, len(row) - 1), min_size=1, max_size=3)):
        row[index] = data.draw(CELL_TEXT)
    text = csv_text([header, row])
    encoding = data.draw(st.sampled_from(["utf-8", "utf-8-sig"]))
    result = parse(kind, text.encode(encoding))
    assert bool(result.rows) != bool(result.errors)
    for error in result.errors:
        assert error.line >= 1 and error.reason
    for parsed in result.rows:
        assert set(parsed.values) == set(EXPECTED[kind])


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(KINDS), st.binary(max_size=200))
def test_random_bytes_only_yield_errors(kind: str, data: bytes) -> None:
    result = parse(kind, data)
    assert isinstance(result, ParseResult)
