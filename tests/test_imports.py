"""CSV import into the database (SPEC 5.4): what is stored, all or nothing, idempotent."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import re
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import ADMIN, TODAY, make_session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kyusho.rules.dates import format_date
from kyusho.rules.text import kana_key, name_key
from kyusho.services.imports import ImportFailed, ImportReport, import_bytes, import_file
from kyusho.services.session import Session
from kyusho.services.staff import add_staff
from models import schema
from models.schema import (
    ALL_MODELS,
    AuditEvent,
    Claim,
    Contact,
    LedgerEntry,
    LimitationEvent,
    Obligor,
)

STAFF = "tanaka"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8", bom: bool = False) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


CLAIMS = [
    ["求償権番号", "代位弁済日", "代位弁済元金", "代位弁済利息", "損害金率", "充当順序",
     "委託契約日", "金融機関", "制度融資", "保険種類", "てん補率", "保険金", "保険金受領日",
     "損失補償団体", "担当者"],
    ["R5-000001", "2023-04-10", "9,800,000", "200000", "14.0", "法定", "2019/4/1",
     "サンプル銀行", "", "", "", "", "", "", STAFF],
    ["R5-000002", "R5.6.1", "3000000", "45,000円", "", "元金", "20200601", "みなと信用金庫",
     "創業支援資金", "普通保険", "80", "2,400,000", "令和5年8月1日", "東京都・横浜市", STAFF],
    ["R4-000003", "2022/10/3", "１，０００，０００", "0", "14.6", "", "H31.4.30", "北銀行",
     "", "", "", "", "", "北海道", STAFF],
]  # fmt: skip

OBLIGORS = [
    ["求償権番号", "関係人番号", "区分", "氏名", "カナ", "法人個人", "商人", "生年月日", "住所", "状態"],
    ["R5-000001", "1", "主債務者", "株式会社サンプル", "ｶ)ｻﾝﾌﾟﾙ", "法人", "", "", "東京都千代田区1-1", ""],
    ["R5-000001", "2", "連帯保証人", "山田 太郎", "やまだ　たろう", "個人", "0", "1960-01-02", "東京都港区2-2", ""],
    ["R5-000001", "3", "物上保証人", "山田 花子", "ヤマダ ハナコ", "個人", "", "S40.3.3", "東京都港区2-2", ""],
    ["R5-000002", "1", "主債務者", "鈴木一郎", "ｽｽﾞｷ ｲﾁﾛｳ", "個人", "はい", "1970/5/5", "横浜市中区3-3", "所在不明"],
    ["R4-000003", "1", "主債務者", "北商事株式会社", "キタショウジ", "法人", "", "", "", ""],
]  # fmt: skip

RECEIPTS = [
    ["求償権番号", "入金日", "金額", "入金者", "入金方法", "番号"],
    ["R5-000001", "2023-07-31", "500,000", "1", "振込", "RC-1"],
    ["R5-000002", "2023-09-01", "100000円", "1", "現金", "RC-2"],
]

EVENTS = [
    ["求償権番号", "関係人番号", "事由", "日付", "終了日", "番号"],
    ["R5-000001", "2", "催告", "2024-01-15", "", "EV-1"],
    ["R5-000002", "1", "支払督促申立", "R6.2.1", "", "EV-2"],
    ["R4-000003", "1", "仮差押", "2024-03-01", "2024-09-01", "EV-3"],
]

CONTACTS = [
    ["求償権番号", "関係人番号", "日時", "担当者", "方法", "結果", "内容", "約束金額", "約束日",
     "次回行動", "次回日", "番号"],
    ["R5-000001", "1", "2024-03-01 10:30", STAFF, "電話", "入金約束", "分割の相談\n来月から",
     "50,000", "2024-03-31", "入金確認", "2024/4/1", "CT-1"],
    ["R5-000002", "1", "R6.3.2", STAFF, "面談", "不在", "", "", "", "", "", "CT-2"],
]  # fmt: skip

FILES = {
    "claims": CLAIMS,
    "obligors": OBLIGORS,
    "receipts": RECEIPTS,
    "events": EVENTS,
    "contacts": CONTACTS,
}
ORDER = ("claims", "obligors", "receipts", "events", "contacts")


def without(rows: list[list[str]], column: str) -> list[list[str]]:
    """The file without one column (e.g. receipts without 番号)."""
    i = rows[0].index(column)
    return [r[:i] + r[i + 1 :] for r in rows]


def replace(rows: list[list[str]], row: int, column: str, value: str) -> list[str]:
    """A copy of data row ``row`` (1-based) with one cell changed."""
    changed = list(rows[row])
    changed[rows[0].index(column)] = value
    return changed


def counts() -> dict[str, int]:
    return {m.__name__: m.select().count() for m in ALL_MODELS}


def load(session: Session, *kinds: str, encoding: str = "utf-8", bom: bool = False) -> None:
    for kind in kinds:
        import_bytes(session, kind, csv_bytes(FILES[kind], encoding, bom))


def failed(session: Session, kind: str, rows: list[list[str]]) -> ImportFailed:
    """Import ``rows`` expecting refusal; checks nothing at all was stored."""
    before = counts()
    with pytest.raises(ImportFailed) as info:
        import_bytes(session, kind, csv_bytes(rows))
    assert counts() == before
    for e in info.value.errors:
        assert JAPANESE.search(e.reason), e
    return info.value


def where(err: ImportFailed) -> set[tuple[int, str]]:
    return {(e.line, e.column) for e in err.errors}


@pytest.fixture
def s(session: Session) -> Session:
    """An admin session on a fresh database with the staff login used in the files."""
    add_staff(session, STAFF, "田中", "staff")
    return session


def claim(no: str) -> Claim:
    return Claim.get(Claim.claim_no == no)


def obligor(no: str, obligor_no: int) -> Obligor:
    return Obligor.get((Obligor.claim == claim(no).id) & (Obligor.obligor_no == obligor_no))


# --------------------------------------------------------------------------- each kind


def test_claims_are_stored_as_written(s):
    report = import_bytes(s, "claims", csv_bytes(CLAIMS))
    assert (report.rows, report.added, report.skipped) == (3, 3, 0)
    c1, c2, c3 = claim("R5-000001"), claim("R5-000002"), claim("R4-000003")
    assert c1.subrogation_date == date(2023, 4, 10)
    assert (c1.loan_principal, c1.loan_interest) == (9_800_000, 200_000)
    assert type(c1.loan_principal) is int and type(c1.principal_outstanding) is int
    assert c1.principal_outstanding == 10_000_000
    assert (c1.damages_rate, c1.allocation_order) == ("14.0", "statutory")
    assert c1.contract_date == date(2019, 4, 1)
    assert (c1.lender, c1.programme, c1.insurance_type) == ("サンプル銀行", None, None)
    assert c1.staff.login == STAFF and c1.status == "active"
    # blank rate: the policy default, as a decimal string
    assert (c2.damages_rate, c2.allocation_order) == ("14.0", "principal_first")
    assert c2.subrogation_date == date(2023, 6, 1) and c2.contract_date == date(2020, 6, 1)
    assert (c2.loan_principal, c2.loan_interest, c2.principal_outstanding) == (
        3_000_000,
        45_000,
        3_045_000,
    )
    assert (c2.programme, c2.insurance_type, c2.cover_ratio) == ("創業支援資金", "普通保険", "80")
    assert (c2.insurance_paid, c2.insurance_paid_on) == (2_400_000, date(2023, 8, 1))
    assert {m.name for m in c2.municipalities} == {"東京都", "横浜市"}
    assert (c3.loan_principal, c3.loan_interest, c3.damages_rate) == (1_000_000, 0, "14.6")
    assert c3.allocation_order == "statutory" and c3.contract_date == date(2019, 4, 30)
    assert [m.name for m in c3.municipalities] == ["北海道"]
    assert schema.ClaimMunicipality.select().count() == 3
    assert not list(c1.municipalities)


def test_obligors_are_stored_with_normalised_kana_keys_and_clocks(s):
    load(s, "claims")
    report = import_bytes(s, "obligors", csv_bytes(OBLIGORS))
    assert (report.rows, report.added, report.skipped) == (5, 5, 0)
    debtor = obligor("R5-000001", 1)
    assert (debtor.role, debtor.kind, debtor.name) == (
        "principal_debtor",
        "corporation",
        "株式会社サンプル",
    )
    assert debtor.kana == "カ)サンプル"
    assert debtor.merchant is None and debtor.birth_date is None and debtor.state == "normal"
    assert debtor.address == "東京都千代田区1-1" and debtor.liable is True
    guarantor = obligor("R5-000001", 2)
    assert (guarantor.role, guarantor.kind) == ("joint_guarantor", "person")
    assert guarantor.kana == "ヤマダ タロウ"
    assert guarantor.name_key == name_key("山田 太郎") == "山田太郎"
    assert guarantor.kana_key == kana_key("ヤマダ タロウ") == "ヤマダタロウ"
    assert guarantor.merchant is False and guarantor.birth_date == date(1960, 1, 2)
    provider = obligor("R5-000001", 3)
    assert provider.role == "collateral_provider" and provider.birth_date == date(1965, 3, 3)
    d2 = obligor("R5-000002", 1)
    assert d2.kana == "スズキ イチロウ" and d2.kana_key == "スズキイチロウ"
    assert d2.merchant is True and d2.state == "whereabouts_unknown"
    assert obligor("R4-000003", 1).address == ""
    # the claim carries its principal debtor's name for search and sort
    assert claim("R5-000001").debtor_name == "株式会社サンプル"
    assert claim("R5-000001").debtor_kana == kana_key("カ)サンプル")
    assert claim("R5-000002").debtor_name == "鈴木一郎"
    # limitation clocks: debtor and guarantors have one, a collateral provider none
    for o in Obligor.select():
        if o.role == "collateral_provider":
            assert o.completes_on is None and o.own_completes_on is None
        else:
            assert isinstance(o.completes_on, date), (o.claim.claim_no, o.obligor_no)
            assert o.completes_on > o.claim.subrogation_date


def test_receipts_are_allocated_and_update_the_balance(s):
    load(s, "claims", "obligors")
    report = import_bytes(s, "receipts", csv_bytes(RECEIPTS))
    assert (report.rows, report.added, report.skipped) == (2, 2, 0)
    r1 = LedgerEntry.get(LedgerEntry.ref == "RC-1")
    assert (r1.kind, r1.date, r1.amount, r1.method) == (
        "receipt",
        date(2023, 7, 31),
        500_000,
        "transfer",
    )
    assert r1.payer.obligor_no == 1 and r1.claim.claim_no == "R5-000001"
    # examples/ledger.toml L1: statutory, damages first
    assert (r1.alloc_costs, r1.alloc_damages, r1.alloc_principal) == (0, 429_589, 70_411)
    c1 = claim("R5-000001")
    assert c1.principal_outstanding == 9_929_589
    assert c1.last_receipt_on == date(2023, 7, 31)
    r2 = LedgerEntry.get(LedgerEntry.ref == "RC-2")
    assert (r2.amount, r2.method) == (100_000, "cash")
    # principal_first: the whole receipt goes to principal
    assert (r2.alloc_costs, r2.alloc_damages, r2.alloc_principal) == (0, 0, 100_000)
    assert claim("R5-000002").principal_outstanding == 2_945_000


def test_a_receipt_is_an_acknowledgement_for_the_payers_clock(s):
    load(s, "claims", "obligors")
    before = obligor("R5-000001", 1).completes_on
    load(s, "receipts")
    after = obligor("R5-000001", 1)
    assert after.completes_on > before
    assert after.lim_basis_date == date(2023, 7, 31)


def test_events_are_stored_with_their_kind_codes(s):
    load(s, "claims", "obligors")
    report = import_bytes(s, "events", csv_bytes(EVENTS))
    assert (report.rows, report.added, report.skipped) == (3, 3, 0)
    e1 = LimitationEvent.get(LimitationEvent.ref == "EV-1")
    assert (e1.kind, e1.date, e1.until) == ("demand", date(2024, 1, 15), None)
    assert e1.obligor.obligor_no == 2 and e1.claim.claim_no == "R5-000001"
    e2 = LimitationEvent.get(LimitationEvent.ref == "EV-2")
    assert (e2.kind, e2.date) == ("suit_filed", date(2024, 2, 1))
    e3 = LimitationEvent.get(LimitationEvent.ref == "EV-3")
    assert (e3.kind, e3.date, e3.until) == ("provisional_filed", date(2024, 3, 1), date(2024, 9, 1))


def test_contacts_are_stored_as_written(s):
    load(s, "claims", "obligors")
    report = import_bytes(s, "contacts", csv_bytes(CONTACTS))
    assert (report.rows, report.added, report.skipped) == (2, 2, 0)
    c1 = Contact.get(Contact.ref == "CT-1")
    assert c1.at == datetime(2024, 3, 1, 10, 30)
    assert (c1.staff, c1.channel, c1.outcome) == (STAFF, "phone", "入金約束")
    assert c1.note == "分割の相談\n来月から"
    assert (c1.promised_amount, c1.promised_on) == (50_000, date(2024, 3, 31))
    assert (c1.next_action, c1.next_on, c1.next_done) == ("入金確認", date(2024, 4, 1), False)
    assert c1.obligor.obligor_no == 1 and c1.claim.claim_no == "R5-000001"
    c2 = Contact.get(Contact.ref == "CT-2")
    assert (c2.at, c2.channel, c2.note) == (datetime(2024, 3, 2), "meeting", "")
    assert (c2.promised_amount, c2.promised_on, c2.next_action, c2.next_on) == (None,) * 4


def test_import_file_reads_the_path_and_names_it_in_the_audit(s, tmp_path):
    path = tmp_path / "claims.csv"
    path.write_bytes(csv_bytes(CLAIMS))
    report = import_file(s, "claims", path)
    assert isinstance(report, ImportReport) and report.added == 3
    event = AuditEvent.select().order_by(AuditEvent.seq.desc()).get()
    assert json.loads(event.after)["file"] == str(path)


def test_import_file_of_a_missing_file_is_an_input_error(s, tmp_path):
    from kyusho.errors import InputError

    before = counts()
    with pytest.raises(InputError) as info:
        import_file(s, "claims", tmp_path / "nothing.csv")
    assert info.value.field == "ファイル"
    assert counts() == before


# --------------------------------------------------------------------------- encodings, aliases

TABLES = ("claim", "claim_municipality", "obligor", "ledger_entry", "limitation_event", "contact")
VOLATILE = {"created_at", "updated_at"}


def dump(path: Path | str) -> dict[str, list[tuple[object, ...]]]:
    """Every domain table's rows, without the columns that hold the wall-clock time."""
    if isinstance(path, str):  # PostgreSQL
        import psycopg

        with psycopg.connect(path) as pg:
            out = {}
            for table in TABLES:
                cols = [
                    r[0]
                    for r in pg.execute(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_name = %s ORDER BY ordinal_position",
                        (table,),
                    )
                ]
                keep = ", ".join(c for c in cols if c not in VOLATILE)
                out[table] = pg.execute(f"SELECT {keep} FROM {table} ORDER BY id").fetchall()
            return out
    conn = sqlite3.connect(str(path))
    try:
        out = {}
        for table in TABLES:
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            keep = ", ".join(c for c in cols if c not in VOLATILE)
            out[table] = conn.execute(f"SELECT {keep} FROM {table} ORDER BY id").fetchall()
        return out
    finally:
        conn.close()


def fresh(tmp_path: Path, name: str) -> tuple[Session, Path]:
    from kyusho.services.staff import init_database

    path = tmp_path / name / "kyusho.db"
    path.parent.mkdir()
    init_database(path, ADMIN, "管理者")
    session = make_session(path)
    add_staff(session, STAFF, "田中", "staff")
    return session, path


def test_utf8_bom_and_cp932_files_give_identical_databases(tmp_path):
    dumps = []
    for name, encoding, bom in (
        ("u8", "utf-8", False),
        ("bom", "utf-8", True),
        ("sj", "cp932", False),
    ):
        session, path = fresh(tmp_path, name)
        load(session, *ORDER, encoding=encoding, bom=bom)
        session.db.close()
        dumps.append(dump(path))
    assert all(dumps[0][t] for t in TABLES)
    assert dumps[0] == dumps[1] == dumps[2]
    assert csv_bytes(CLAIMS, "cp932") != csv_bytes(CLAIMS)  # the CP932 file really differs


ENGLISH = {
    "claims": [
        ["claim_no", "subrogation_date", "loan_principal", "loan_interest", "damages_rate",
         "allocation_order", "contract_date", "lender", "programme", "insurance_type",
         "cover_ratio", "insurance_paid", "insurance_paid_on", "municipalities", "staff"],
        *CLAIMS[1:],
    ],
    "obligors": [
        ["claim_no", "obligor_no", "role", "name", "kana", "kind", "merchant", "birth_date",
         "address", "state"],
        *OBLIGORS[1:],
    ],
    "receipts": [["claim_no", "date", "amount", "payer", "method", "ref"], *RECEIPTS[1:]],
    "events": [["claim_no", "obligor_no", "kind", "date", "until", "ref"], *EVENTS[1:]],
    "contacts": [
        ["claim_no", "obligor_no", "at", "staff", "channel", "outcome", "note",
         "promised_amount", "promised_on", "next_action", "next_on", "ref"],
        *CONTACTS[1:],
    ],
}  # fmt: skip


def test_english_header_aliases_store_the_same_as_japanese(tmp_path):
    session, ja = fresh(tmp_path, "ja")
    load(session, *ORDER)
    session.db.close()
    session, en = fresh(tmp_path, "en")
    for kind in ORDER:
        assert len(ENGLISH[kind][0]) == len(FILES[kind][0])
        report = import_bytes(session, kind, csv_bytes(ENGLISH[kind]))
        assert report.added == len(FILES[kind]) - 1
    session.db.close()
    assert dump(ja) == dump(en)


def test_english_codes_are_accepted_as_values(s):
    rows = [
        CLAIMS[0],
        replace(CLAIMS, 1, "充当順序", "principal_first"),
    ]
    import_bytes(s, "claims", csv_bytes(rows))
    assert claim("R5-000001").allocation_order == "principal_first"
    ob = [
        OBLIGORS[0],
        [
            "R5-000001",
            "1",
            "principal_debtor",
            "X社",
            "エックス",
            "corporation",
            "",
            "",
            "",
            "normal",
        ],
    ]
    import_bytes(s, "obligors", csv_bytes(ob))
    assert (obligor("R5-000001", 1).role, obligor("R5-000001", 1).kind) == (
        "principal_debtor",
        "corporation",
    )


# --------------------------------------------------------------------------- all or nothing


def test_one_bad_claim_row_among_good_ones_stores_nothing(s):
    rows = [*CLAIMS, replace(CLAIMS, 1, "代位弁済元金", "12.5") + []]
    rows[-1][0] = "R5-000009"
    err = failed(s, "claims", rows)
    assert where(err) == {(5, "代位弁済元金")}
    assert "小数" in err.errors[0].reason
    assert Claim.select().count() == 0


def test_every_bad_row_in_a_file_is_reported(s):
    rows = [
        CLAIMS[0],
        replace(CLAIMS, 1, "代位弁済日", "2023-02-30"),  # line 2: impossible date
        CLAIMS[2],  # line 3: good
        replace(CLAIMS, 3, "損失補償団体", "火星市"),  # line 4: unknown municipality
        ["R5-000010", "2023-04-10", "-5", "0", "99", "逆順", "2019/4/1", "銀行", "", "", "", "",
         "", "", ""],  # line 5: four bad cells
    ]  # fmt: skip
    err = failed(s, "claims", rows)
    assert where(err) == {
        (2, "代位弁済日"),
        (4, "損失補償団体"),
        (5, "代位弁済元金"),
        (5, "損害金率"),
        (5, "充当順序"),
        (5, "担当者"),
    }
    assert [e.line for e in err.errors] == sorted(e.line for e in err.errors)
    assert "火星市" in next(e.reason for e in err.errors if e.line == 4)


def test_line_numbers_count_physical_lines_of_multiline_cells(s):
    load(s, "claims", "obligors")
    bad = replace(CONTACTS, 2, "担当者", "nobody")
    err = failed(s, "contacts", [*CONTACTS[:2], bad])
    # header line 1, the two-line note on lines 2-3, the bad row on line 4
    assert where(err) == {(4, "担当者")}
    assert "nobody" in err.errors[0].reason


def test_a_file_with_bad_obligor_rows_stores_nothing_not_even_the_claim_name(s):
    load(s, "claims")
    rows = [*OBLIGORS, ["R5-000002", "2", "連帯保証人", "佐藤", "Sato!", "個人", "", "", "", ""]]
    err = failed(s, "obligors", rows)
    assert where(err) == {(7, "カナ")}
    assert claim("R5-000001").debtor_name == ""


# --------------------------------------------------------------------------- database stage


def test_unknown_staff_login_refuses_the_claims_file(s):
    rows = [*CLAIMS, replace(CLAIMS, 1, "担当者", "suzuki")]
    rows[-1][0] = "R5-000099"
    err = failed(s, "claims", rows)
    assert where(err) == {(5, "担当者")}
    assert "suzuki" in err.errors[0].reason


def test_future_subrogation_date_is_refused(s):
    future = (TODAY + timedelta(days=1)).isoformat()
    err = failed(s, "claims", [CLAIMS[0], replace(CLAIMS, 1, "代位弁済日", future)])
    assert where(err) == {(2, "代位弁済日")}


def test_a_claim_already_present_with_different_contents_is_refused(s):
    load(s, "claims")
    err = failed(s, "claims", [CLAIMS[0], CLAIMS[1], replace(CLAIMS, 2, "代位弁済元金", "3000001")])
    assert where(err) == {(3, "求償権番号")}
    assert "R5-000002" in err.errors[0].reason
    assert claim("R5-000002").loan_principal == 3_000_000


@pytest.mark.parametrize(
    ("column", "value"),
    [("担当者", ADMIN), ("損失補償団体", "東京都")],
    ids=["staff", "municipalities"],
)
def test_a_claim_present_with_another_staff_or_municipality_is_refused(s, column, value):
    load(s, "claims")
    err = failed(s, "claims", [CLAIMS[0], replace(CLAIMS, 2, column, value)])
    assert where(err) == {(2, "求償権番号")}


def test_duplicate_claims_and_obligors_within_a_file_are_refused(s):
    err = failed(s, "claims", [*CLAIMS, CLAIMS[2]])
    assert where(err) == {(5, "求償権番号")}
    assert "3行目" in err.errors[0].reason
    load(s, "claims")
    err = failed(s, "obligors", [*OBLIGORS, OBLIGORS[2]])
    assert where(err) == {(7, "関係人番号")}
    assert "3行目" in err.errors[0].reason


def test_obligors_of_an_unknown_claim_or_without_a_debtor_are_refused(s):
    load(s, "claims")
    rows = [*OBLIGORS, ["R9-999999", "1", "主債務者", "某", "ナニガシ", "個人", "", "", "", ""]]
    err = failed(s, "obligors", rows)
    assert where(err) == {(7, "求償権番号")}
    assert "R9-999999" in err.errors[0].reason
    err = failed(s, "obligors", [OBLIGORS[0], OBLIGORS[2]])  # a guarantor only
    assert where(err) == {(2, "区分")}
    assert "主債務者" in err.errors[0].reason


def test_every_bad_receipt_row_is_reported_with_its_reason(s):
    load(s, "claims", "obligors")
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    rows = [
        RECEIPTS[0],
        RECEIPTS[1],  # line 2: good
        ["R9-999999", "2023-07-31", "1000", "1", "", ""],  # line 3: unknown claim
        ["R5-000001", "2023-07-31", "1000", "9", "", ""],  # line 4: no obligor 9
        ["R5-000001", "2023-04-09", "1000", "1", "", ""],  # line 5: before subrogation
        ["R5-000001", tomorrow, "1000", "1", "", ""],  # line 6: after today
        ["R5-000002", TODAY.isoformat(), "1000", "1", "", ""],  # line 7: today is fine
    ]
    err = failed(s, "receipts", rows)
    assert where(err) == {(3, "求償権番号"), (4, "入金者"), (5, "入金日"), (6, "入金日")}
    reasons = {e.line: e.reason for e in err.errors}
    assert "R9-999999" in reasons[3]
    assert "9" in reasons[4] and "R5-000001" in reasons[4]
    assert "2023-04-10" in reasons[5]
    assert "未来" in reasons[6]


def test_a_receipt_larger_than_the_balance_is_refused_with_the_maximum(s):
    load(s, "claims", "obligors")
    # 10,000,000 principal + 429,589 damages to 2023-07-31 (examples/ledger.toml L1)
    rows = [RECEIPTS[0], ["R5-000001", "2023-07-31", "10,429,590", "2", "", ""]]
    err = failed(s, "receipts", rows)
    assert where(err) == {(2, "金額")}
    assert "10,429,589円" in err.errors[0].reason
    assert claim("R5-000001").principal_outstanding == 10_000_000
    # exactly the balance is accepted and pays the claim off
    import_bytes(
        s,
        "receipts",
        csv_bytes([RECEIPTS[0], ["R5-000001", "2023-07-31", "10,429,589", "2", "", ""]]),
    )
    assert claim("R5-000001").principal_outstanding == 0


def test_the_overpaying_receipt_is_the_row_reported(s):
    load(s, "claims", "obligors")
    rows = [
        RECEIPTS[0],
        ["R5-000001", "2023-07-31", "500,000", "1", "", ""],  # line 2: fine
        ["R5-000001", "2023-08-31", "20,000,000", "2", "", ""],  # line 3: overpays
    ]
    err = failed(s, "receipts", rows)
    assert where(err) == {(3, "金額")}


def test_events_and_contacts_for_an_obligor_not_on_the_claim_are_refused(s):
    load(s, "claims", "obligors")
    err = failed(s, "events", [*EVENTS, ["R5-000002", "2", "承認", "2024-01-01", "", ""]])
    assert where(err) == {(5, "関係人番号")}
    assert "R5-000002" in err.errors[0].reason
    err = failed(s, "contacts", [*CONTACTS, replace(CONTACTS, 2, "関係人番号", "4")])
    assert where(err) == {(5, "関係人番号")}


def test_contacts_with_an_unregistered_staff_login_are_refused(s):
    load(s, "claims", "obligors")
    err = failed(s, "contacts", [CONTACTS[0], replace(CONTACTS, 2, "担当者", "ghost")])
    assert where(err) == {(2, "担当者")}


@pytest.mark.parametrize("kind", ["receipts", "events"])
def test_duplicate_refs_within_a_file_are_refused(s, kind):
    load(s, "claims", "obligors")
    rows = FILES[kind]
    err = failed(s, kind, [*rows, rows[1]])
    assert where(err) == {(len(rows) + 1, "番号")}
    assert "2 行目" in err.errors[0].reason or "2行目" in err.errors[0].reason


def test_duplicate_contact_refs_within_a_file_are_refused(s):
    load(s, "claims", "obligors")
    err = failed(s, "contacts", [*CONTACTS, CONTACTS[2]])
    # CT-1's note spans two physical lines, so the repeated CT-2 row is on line 5
    assert where(err) == {(5, "番号")}


def test_cell_errors_and_database_errors_are_reported_together(s):
    load(s, "claims", "obligors")
    rows = [
        RECEIPTS[0],
        ["R5-000001", "2023-07-31", "12.5", "1", "", ""],  # line 2: bad amount (cell)
        ["R9-999999", "2023-07-31", "1000", "1", "", ""],  # line 3: unknown claim (database)
    ]
    err = failed(s, "receipts", rows)
    assert where(err) == {(2, "金額"), (3, "求償権番号")}


# --------------------------------------------------------------------------- idempotence


@pytest.mark.parametrize("kind", ORDER)
def test_importing_the_same_file_twice_adds_nothing(s, kind):
    load(s, *ORDER[: ORDER.index(kind)])
    data = csv_bytes(FILES[kind])
    first = import_bytes(s, kind, data)
    assert first.added == first.rows == len(FILES[kind]) - 1
    before = counts()
    snapshot = dump(s.location)
    second = import_bytes(s, kind, data)
    assert (second.rows, second.added, second.skipped) == (first.rows, 0, first.rows)
    after = counts()
    assert after.pop("AuditEvent") == before.pop("AuditEvent") + 1
    after.pop("Meta_")
    before.pop("Meta_")
    assert after == before
    assert dump(s.location) == snapshot


def test_receipts_without_ref_imported_twice_are_refused_the_second_time(s):
    load(s, "claims", "obligors")
    rows = without(RECEIPTS, "番号")
    import_bytes(s, "receipts", csv_bytes(rows))
    assert LedgerEntry.select().count() == 2
    err = failed(s, "receipts", rows)
    assert where(err) == {(2, "入金日"), (3, "入金日")}
    assert all("すでに登録" in e.reason for e in err.errors)
    assert claim("R5-000001").principal_outstanding == 9_929_589


@pytest.mark.parametrize(
    ("kind", "column", "lines"),
    # the contacts file's first note spans lines 2-3, so its second row is on line 4
    [("events", "事由", {2, 3, 4}), ("contacts", "日時", {2, 4})],
)
def test_events_and_contacts_without_ref_imported_twice_are_refused(s, kind, column, lines):
    load(s, "claims", "obligors")
    rows = without(FILES[kind], "番号")
    import_bytes(s, kind, csv_bytes(rows))
    err = failed(s, kind, rows)
    assert where(err) == {(line, column) for line in lines}
    assert all("すでに登録" in e.reason for e in err.errors)


def test_obligors_file_reimports_after_a_discharge_event(s):
    load(s, "claims", "obligors")
    import_bytes(
        s, "events", csv_bytes([EVENTS[0], ["R5-000002", "1", "免責確定", "2024-01-15", "", ""]])
    )
    report = import_bytes(s, "obligors", csv_bytes(OBLIGORS))
    assert (report.added, report.skipped) == (0, 5)


def test_a_new_receipt_beside_an_already_imported_one_is_refused_as_a_whole(s):
    load(s, "claims", "obligors")
    rows = without(RECEIPTS, "番号")
    import_bytes(s, "receipts", csv_bytes(rows))
    err = failed(s, "receipts", [*rows, ["R5-000001", "2023-08-31", "1000", "1", "振込"]])
    assert where(err) == {(2, "入金日"), (3, "入金日")}


def test_a_partly_imported_claims_file_adds_only_the_new_rows(s):
    import_bytes(s, "claims", csv_bytes(CLAIMS[:2]))
    report = import_bytes(s, "claims", csv_bytes(CLAIMS))
    assert (report.rows, report.added, report.skipped) == (3, 2, 1)
    assert Claim.select().count() == 3


# --------------------------------------------------------------------------- dry run, progress, audit


@pytest.mark.parametrize("kind", ORDER)
def test_dry_run_counts_but_stores_nothing(s, kind):
    load(s, *ORDER[: ORDER.index(kind)])
    before = counts()
    snapshot = dump(s.location)
    report = import_bytes(s, kind, csv_bytes(FILES[kind]), dry_run=True)
    n = len(FILES[kind]) - 1
    assert report.dry_run is True
    assert (report.rows, report.added, report.skipped) == (n, n, 0)
    assert counts() == before
    assert dump(s.location) == snapshot


def test_dry_run_still_reports_every_error(s):
    load(s, "claims", "obligors")
    rows = [RECEIPTS[0], ["R9-999999", "2023-07-31", "1000", "1", "", ""]]
    before = counts()
    with pytest.raises(ImportFailed) as info:
        import_bytes(s, "receipts", csv_bytes(rows), dry_run=True)
    assert where(info.value) == {(2, "求償権番号")}
    assert counts() == before


@pytest.mark.parametrize("kind", ORDER)
def test_progress_is_reported_and_ends_complete(s, kind):
    load(s, *ORDER[: ORDER.index(kind)])
    calls: list[tuple[str, int, int]] = []
    import_bytes(s, kind, csv_bytes(FILES[kind]), progress=lambda *a: calls.append(a))
    assert calls
    for stage, done, total in calls:
        assert isinstance(stage, str) and stage
        assert type(done) is int and type(total) is int and 0 <= done <= total
    assert calls[-1][1] == calls[-1][2]


def test_progress_ends_complete_when_every_row_is_already_there(s):
    data = csv_bytes(CLAIMS)
    import_bytes(s, "claims", data)
    calls: list[tuple[str, int, int]] = []
    import_bytes(s, "claims", data, progress=lambda *a: calls.append(a))
    assert calls[-1][1] == calls[-1][2]


@pytest.mark.parametrize("kind", ORDER)
def test_one_audit_event_per_import_with_the_files_sha256(s, kind):
    load(s, *ORDER[: ORDER.index(kind)])
    data = csv_bytes(FILES[kind])
    last = AuditEvent.select().count()
    import_bytes(s, kind, data, name="in.csv")
    new = list(AuditEvent.select().where(AuditEvent.seq > last))
    assert len(new) == 1
    after = json.loads(new[0].after)
    assert new[0].login == ADMIN and kind in new[0].action
    assert after["sha256"] == hashlib.sha256(data).hexdigest()
    assert after["file"] == "in.csv"
    assert (after["rows"], after["added"]) == (len(FILES[kind]) - 1,) * 2


# --------------------------------------------------------------------------- properties

_serial = itertools.count(1)
MUNICIPALITY_CHOICES = ["東京都", "横浜市", "北海道", "大阪府", "名古屋市"]


@st.composite
def claim_rows(draw: st.DrawFn) -> tuple[list[list[str]], list[dict[str, object]]]:
    """A valid claims file in varied input forms, and what each row must store."""
    batch = next(_serial)
    n = draw(st.integers(1, 5))
    rows: list[list[str]] = [CLAIMS[0]]
    expected: list[dict[str, object]] = []
    for i in range(n):
        sub = draw(st.dates(date(1990, 1, 1), TODAY))
        contract = draw(st.dates(date(1989, 1, 8), sub))
        principal = draw(st.integers(1, 10**12))
        interest = draw(st.integers(0, 10**9))
        rate = draw(st.sampled_from(["", "14.0", "14.6", "18.25", "5", "29.2", "0.5"]))
        order = draw(st.sampled_from(["", "法定", "元金", "statutory", "principal_first"]))
        munis = draw(st.lists(st.sampled_from(MUNICIPALITY_CHOICES), unique=True, max_size=3))
        lender = draw(st.sampled_from(["サンプル銀行", "みなと信用金庫", "Ａ銀行 本店", "JA北"]))
        rows.append(
            [
                f"P{batch}-{i:04d}",
                draw(_date_forms(sub)),
                draw(_amount_forms(principal)),
                draw(_amount_forms(interest)),
                rate,
                order,
                draw(_date_forms(contract)),
                lender,
                "",
                "",
                "",
                "",
                "",
                "・".join(munis),
                STAFF,
            ]
        )
        expected.append(
            {
                "claim_no": f"P{batch}-{i:04d}",
                "subrogation_date": sub,
                "contract_date": contract,
                "loan_principal": principal,
                "loan_interest": interest,
                "principal_outstanding": principal + interest,
                "damages_rate": rate or "14.0",
                "allocation_order": "principal_first"
                if order in ("元金", "principal_first")
                else "statutory",
                "lender": lender,
                "municipalities": set(munis),
            }
        )
    return rows, expected


def _date_forms(d: date) -> st.SearchStrategy[str]:
    forms = [d.isoformat(), f"{d.year}/{d.month}/{d.day}", d.strftime("%Y%m%d")]
    if d >= date(1989, 1, 8):
        forms.append(format_date(d, "wareki"))
    return st.sampled_from(forms)


def _amount_forms(n: int) -> st.SearchStrategy[str]:
    wide = str.maketrans("0123456789,", "０１２３４５６７８９，")
    return st.sampled_from([str(n), f"{n:,}", f"{n:,}円", f"{n:,}".translate(wide)])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=claim_rows())
def test_generated_claims_files_round_trip(s, data):
    rows, expected = data
    report = import_bytes(s, "claims", csv_bytes(rows))
    assert (report.rows, report.added) == (len(expected), len(expected))
    for want in expected:
        c = claim(str(want["claim_no"]))
        for key, value in want.items():
            got = {m.name for m in c.municipalities} if key == "municipalities" else getattr(c, key)
            assert got == value, key
        assert type(c.loan_principal) is int and type(c.loan_interest) is int


GARBAGE = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(row=st.integers(1, 3), column=st.integers(0, 14), garbage=GARBAGE, where_=st.integers(0, 30))
def test_garbage_in_a_cell_is_either_stored_or_refused_whole(s, row, column, garbage, where_):
    batch = next(_serial)
    rows = [CLAIMS[0]] + [[f"G{batch}-{r[0]}", *r[1:]] for r in CLAIMS[1:]]
    cell = rows[row][column]
    at = min(where_, len(cell))
    rows[row][column] = cell[:at] + garbage + cell[at:]
    before = counts()
    try:
        report = import_bytes(s, "claims", csv_bytes(rows))
    except ImportFailed as err:
        assert err.errors
        assert all(e.line >= 1 and JAPANESE.search(e.reason) for e in err.errors)
        assert counts() == before
    else:
        assert report.added == 3
        assert Claim.select().count() == before["Claim"] + 3
