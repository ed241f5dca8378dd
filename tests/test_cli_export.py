"""`kyusho export`, `report ... --xlsx` and `remittance ledger` (SPEC 5.2, 4.16)."""

from __future__ import annotations

import json

import openpyxl
import pytest

from kyusho import cli
from kyusho.clock import PinnedClock, SystemClock
from kyusho.identity import acting_as
from models.schema import Claim, Obligor
from tests.conftest import ADMIN, TODAY


@pytest.fixture
def run(demo_path, monkeypatch, capsys, tmp_path):
    """kyusho in-process as ADMIN, with the system clock on TODAY (never the real date)."""
    pinned = PinnedClock(TODAY)
    monkeypatch.setattr(SystemClock, "today", lambda self: pinned.today())
    monkeypatch.setattr(SystemClock, "now", lambda self: pinned.now())
    monkeypatch.chdir(tmp_path)

    def go(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        with acting_as(ADMIN):
            code = cli.main([*argv, "--db", str(demo_path)])
        out = capsys.readouterr()
        return code, out.out, out.err

    return go


def test_export_register_xlsx_writes_every_obligor_and_refuses_to_overwrite(run, tmp_path):
    dest = tmp_path / "register.xlsx"
    code, out, _ = run("export", "register", "--format", "xlsx", str(dest))
    assert code == 0 and "書き出しました" in out
    sheet = openpyxl.load_workbook(dest).active
    assert sheet.max_row == Obligor.select().count() + 1
    assert sheet.freeze_panes == "A2"
    dest.write_bytes(b"mine")
    code, _, err = run("export", "register", "--format", "xlsx", str(dest))
    assert code == 2 and "--force" in err and dest.read_bytes() == b"mine"
    code, _, _ = run("export", "register", "--format", "xlsx", str(dest), "--force")
    assert code == 0 and dest.read_bytes()[:2] == b"PK"


@pytest.mark.sqlite_only(reason="SQLite のデータベースファイル（WAL・権限・フォルダ）について")
def test_export_refuses_the_database_itself(run, demo_path):
    before = demo_path.read_bytes()
    code, _, err = run("export", "claims", "--format", "csv", str(demo_path), "--force")
    assert code == 2 and "データベース" in err
    assert demo_path.read_bytes() == before


def test_export_claims_csv_as_of_and_bad_format(run, tmp_path):
    dest = tmp_path / "claims.csv"
    code, _, _ = run("export", "claims", "--format", "csv", str(dest), "--as-of", "2024-03-31")
    assert code == 0
    text = dest.read_bytes()
    assert text.startswith(b"\xef\xbb\xbf")
    lines = text.decode("utf-8-sig").splitlines()
    assert len(lines) == Claim.select().count() + 1
    code, _, err = run("export", "claims", "--format", "ods", str(tmp_path / "x.ods"))
    assert code == 2


def test_report_fy_xlsx_has_the_business_plan_table(run, tmp_path):
    dest = tmp_path / "report.xlsx"
    code, _, _ = run("report", "fy", "2025", "--xlsx", str(dest))
    assert code == 0
    book = openpyxl.load_workbook(dest)
    table = book["業務実績"]
    labels = [r[0].value for r in table.iter_rows(min_row=2)]
    assert labels[:3] == ["代位弁済", "回収", "うちサービサー回収"]
    _, out, _ = run("report", "fy", "2025", "--json")
    recovery = next(i for i in json.loads(out)["items"] if i["key"] == "recovery")
    row = next(r for r in table.iter_rows(min_row=2) if r[0].value == "回収")
    assert row[4].value == recovery["amount"] and row[4].data_type == "n"
    assert {"月別回収", "公庫納付", "オーバーライド承認"} <= set(book.sheetnames)


def test_remittance_ledger_json_csv_and_xlsx(run, tmp_path):
    code, out, _ = run("remittance", "ledger", "2025", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["fiscal_year"] == 2025 and [h["half"] for h in data["halves"]] == [1, 2]
    code, _, _ = run(
        "remittance", "ledger", "2025", "--half", "1", "--csv", str(tmp_path / "r.csv")
    )
    assert code == 0
    assert (tmp_path / "r.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    code, _, _ = run("remittance", "ledger", "2025", "--xlsx", str(tmp_path / "r.xlsx"))
    assert code == 0
    assert openpyxl.load_workbook(tmp_path / "r.xlsx").active.freeze_panes == "A2"
    code, _, err = run("remittance", "ledger", "令和7")
    assert code == 2 and "FY" in err
