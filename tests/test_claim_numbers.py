"""One canonical claim number (NFKC, upper case, trimmed) at every entry point, and no
invisible characters in numbers or names (issue 10, point 3).

A number imported as typed (r5-000001) used to be stored so, while every lookup upper-cased
what was typed: `claim show r5-000001` then showed another claim, R5-000001, and a claim
imported as abc-7 could never be found.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from conftest import ADMIN

from kyusho.cli import main
from kyusho.errors import InputError, KyushoError
from kyusho.identity import acting_as
from kyusho.services.claims import ClaimQuery, search_claims
from kyusho.services.imports import ImportFailed, import_bytes
from kyusho.services.lookup import find_claim
from models.db import open_database
from models.migrations import SCHEMA_VERSION, SchemaError, ensure_current, schema_version
from models.schema import Claim, Obligor

CLAIMS = [
    ["求償権番号", "代位弁済日", "代位弁済元金", "代位弁済利息", "委託契約日", "金融機関", "担当者"],
    ["r5-000001", "2023-04-10", "9,800,000", "200000", "2021-01-15", "サンプル銀行", ADMIN],
    ["abc-7", "2023-06-01", "3000000", "0", "2021-02-01", "サンプル銀行", ADMIN],
]  # fmt: skip
OBLIGORS = [
    ["求償権番号", "関係人番号", "区分", "氏名", "カナ", "法人個人", "住所"],
    ["ｒ５－０００００１", "1", "主債務者", "株式会社サンプル", "サンプル", "法人", "東京都千代田区1-1"],
    ["ABC-7", "1", "主債務者", "有限会社テスト", "テスト", "法人", "東京都港区2-2"],
]  # fmt: skip
RECEIPTS = [
    ["求償権番号", "入金日", "金額", "入金者"],
    [" R5-000001 ", "2023-07-31", "500000", "1"],
]


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def with_cell(rows: list[list[str]], row: int, column: str, value: str) -> list[list[str]]:
    """A copy of ``rows`` with one cell of data row ``row`` (1-based) changed."""
    copy = [list(r) for r in rows]
    copy[row][rows[0].index(column)] = value
    return copy


@pytest.fixture
def call(capsys, tmp_path, monkeypatch):
    """kyusho.cli.main in-process as ADMIN: (code, out, err)."""
    monkeypatch.chdir(tmp_path)  # no ./kyusho.toml of the repository

    def _call(*argv: object) -> tuple[int, str, str]:
        capsys.readouterr()
        with acting_as(ADMIN):
            code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return _call


@pytest.fixture
def loaded(session):
    """CLAIMS, OBLIGORS and RECEIPTS imported: numbers written in lower case and full width."""
    for kind, rows in (("claims", CLAIMS), ("obligors", OBLIGORS), ("receipts", RECEIPTS)):
        import_bytes(session, kind, csv_bytes(rows))
    return session


# --------------------------------------------------------------------------- entry points


def test_lower_case_numbers_are_stored_canonical_and_every_file_finds_them(loaded):
    assert sorted(c.claim_no for c in Claim.select()) == ["ABC-7", "R5-000001"]
    r5 = Claim.get(Claim.claim_no == "R5-000001")
    # the obligor and receipt files named the claim in other widths and cases
    assert r5.debtor_name == "株式会社サンプル"
    assert r5.principal_outstanding < 10_000_000
    assert Obligor.get(Obligor.name == "有限会社テスト").claim.claim_no == "ABC-7"


@pytest.mark.parametrize("typed", ["R5-000001", "r5-000001", "ｒ５－０００００１", "Ｒ5-000001 "])
def test_claim_show_finds_the_claim_in_any_case_and_width(loaded, db_path, call, typed):
    code, out, err = call("--db", db_path, "claim", "show", typed, "--json")
    assert code == 0, err
    assert json.loads(out)["claim_no"] == "R5-000001"


def test_a_claim_imported_as_abc_7_is_found_by_lookup_and_search(loaded):
    assert find_claim("abc-7").claim_no == "ABC-7"
    assert find_claim("ＡＢＣ－７").claim_no == "ABC-7"
    assert [r.claim_no for r in search_claims(ClaimQuery(text="abc"))] == ["ABC-7"]


def test_reimporting_a_number_in_another_case_adds_no_second_claim(loaded):
    report = import_bytes(
        loaded, "claims", csv_bytes(with_cell(CLAIMS, 1, "求償権番号", "R5-000001"))
    )
    assert (report.added, report.skipped) == (0, 2)
    assert Claim.select().count() == 2


# --------------------------------------------------------------------------- invisible characters


@pytest.mark.parametrize(
    ("kind", "rows", "column", "value", "shown"),
    [
        ("claims", CLAIMS, "求償権番号", "R5-\u200b000009", "見えない文字（U+200B）"),
        ("claims", CLAIMS, "求償権番号", "R5-000009\u202e", "見えない文字（U+202E）"),
        ("obligors", OBLIGORS, "求償権番号", "\ufeffR5-000001", "見えない文字（U+FEFF）"),
        ("receipts", RECEIPTS, "求償権番号", "R5-000001\u2060", "見えない文字（U+2060）"),
        ("obligors", OBLIGORS, "氏名", "株式会社\u200bサンプル", "見えない文字（U+200B）"),
        ("obligors", OBLIGORS, "カナ", "サン\u200dプル", "見えない文字（U+200D）"),
        ("obligors", OBLIGORS, "住所", "東京都\u200e千代田区", "見えない文字（U+200E）"),
        ("obligors", OBLIGORS, "氏名", "株式会社\x07サンプル", "制御文字（U+0007）"),
    ],
)
def test_an_invisible_character_is_refused_with_line_column_and_the_character(
    session, kind, rows, column, value, shown
):
    if kind != "claims":
        import_bytes(session, "claims", csv_bytes(CLAIMS))
    before = [(c.claim_no, c.version) for c in Claim.select().order_by(Claim.id)]
    with pytest.raises(ImportFailed) as info:
        import_bytes(session, kind, csv_bytes(with_cell(rows, 1, column, value)))
    [error] = info.value.errors
    assert (error.line, error.column) == (2, column)
    assert shown in error.reason
    assert [(c.claim_no, c.version) for c in Claim.select().order_by(Claim.id)] == before
    assert Obligor.select().count() == 0


def test_an_invisible_character_in_a_typed_number_is_named(loaded, db_path, call):
    with pytest.raises(InputError) as info:
        find_claim("R5-\u200b000001")
    assert str(info.value) == "求償権番号: 見えない文字（U+200B）が含まれています"
    code, out, err = call("--db", db_path, "claim", "show", "R5-000001\u200b", "--json")
    assert code == 2 and out == ""
    assert "U+200B" in err


# --------------------------------------------------------------------------- migration


def _old_database(db_path: Path, numbers: list[str]) -> None:
    """A schema-3 database whose claims were stored as typed (what older imports did)."""
    conn = sqlite3.connect(str(db_path))
    with conn:
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
        for claim, no in zip(CLAIMS[1:], numbers, strict=True):
            cur = conn.execute(
                "UPDATE claim SET claim_no = ? WHERE claim_no = ?", (no, claim[0].upper())
            )
            assert cur.rowcount == 1
    conn.close()


def _stored(db_path: Path) -> list[str]:
    conn = sqlite3.connect(str(db_path))
    rows = [r[0] for r in conn.execute("SELECT claim_no FROM claim ORDER BY id")]
    conn.close()
    return rows


@pytest.mark.sqlite_only(
    reason="古い版の SQLite ファイルからの移行（PostgreSQL は現在の版で作られる）"
)
def test_migration_stores_old_numbers_canonical(loaded, db_path):
    assert SCHEMA_VERSION >= 4
    # the second was stored with a zero-width space before imports refused them
    _old_database(db_path, ["r5-000001", "ａｂｃ\u200b－７ "])
    db = open_database(db_path)
    assert ensure_current(db) == 3
    assert schema_version(db) == SCHEMA_VERSION
    assert _stored(db_path) == ["R5-000001", "ABC\u200b-7"]
    assert find_claim("r5-000001").debtor_name == "株式会社サンプル"
    # still opened from the claim list, which passes the stored number
    [row] = search_claims(ClaimQuery(text="abc"))
    assert find_claim(row.claim_no).debtor_name == "有限会社テスト"


@pytest.mark.sqlite_only(
    reason="古い版の SQLite ファイルからの移行（PostgreSQL は現在の版で作られる）"
)
def test_migration_refuses_numbers_that_collide_and_changes_nothing(loaded, db_path):
    _old_database(db_path, ["r5-000001", "Ｒ５－０００００１"])
    db = open_database(db_path)
    with pytest.raises(SchemaError) as info:
        ensure_current(db)
    assert isinstance(info.value, KyushoError)
    message = str(info.value)
    assert "「r5-000001」" in message and "「Ｒ５－０００００１」" in message
    assert schema_version(db) == 3
    assert _stored(db_path) == ["r5-000001", "Ｒ５－０００００１"]


def test_a_staff_name_with_an_invisible_character_is_refused(session):
    """A pasted tab or bidi control in a staff name would forge columns in `staff list`."""
    import pytest

    from kyusho.errors import InputError
    from kyusho.services.staff import add_staff, list_staff

    for bad in ("ボブ\tstaff", "ボブ\u202e", "ボブ\u200b"):
        with pytest.raises(InputError) as e:
            add_staff(session, "bob", bad, "staff")
        assert e.value.field == "氏名" and "U+" in e.value.message
    assert [s.login for s in list_staff(session)] == ["kadmin"]
